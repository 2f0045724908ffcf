import { sql } from "drizzle-orm";
import {
  bigint,
  check,
  date,
  index,
  integer,
  pgTable,
  primaryKey,
  text,
  timestamp,
} from "drizzle-orm/pg-core";

export const batches = pgTable(
  "batches",
  {
    reference: text("reference").primaryKey(),
    sku: text("sku").notNull(),
    qty: integer("qty").notNull(),
    /** null: stock on hand. */
    eta: date("eta", { mode: "string" }),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    check("batches_qty_not_negative", sql`${t.qty} >= 0`),
    // GET /batches?sku= (the staff console's lookup).
    index("batches_sku_idx").on(t.sku),
  ],
);

/** One row per (order line, batch): pending while allocated there, cancelled after. */
export const dispatchInstructions = pgTable(
  "dispatch_instructions",
  {
    orderId: text("order_id").notNull(),
    sku: text("sku").notNull(),
    batchref: text("batchref").notNull(),
    qty: integer("qty").notNull(),
    status: text("status", { enum: ["pending", "cancelled"] }).notNull(),
    /** Product version of the last allocation event applied: older events are ignored. */
    version: bigint("version", { mode: "number" }).notNull(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    // The primary key leads with order_id, which serves GET /dispatches?orderId= too.
    primaryKey({ columns: [t.orderId, t.sku, t.batchref] }),
    check("dispatch_instructions_status", sql`${t.status} in ('pending', 'cancelled')`),
  ],
);
