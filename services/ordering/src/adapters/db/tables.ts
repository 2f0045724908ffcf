import { sql } from "drizzle-orm";
import {
  check,
  date,
  foreignKey,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  smallint,
  text,
  timestamp,
} from "drizzle-orm/pg-core";

const at = (name: string) => timestamp(name, { withTimezone: true });

/** Ids are text, not uuid: any string a client sends as an order id must read as 404, not 500. */
export const orders = pgTable(
  "orders",
  {
    orderId: text("order_id").primaryKey(),
    customerId: text("customer_id").notNull(),
    cancelledAt: at("cancelled_at"),
    createdAt: at("created_at").notNull(),
    updatedAt: at("updated_at").notNull(),
  },
  (t) => [index("orders_customer_idx").on(t.customerId)],
);

export const orderLines = pgTable(
  "order_lines",
  {
    orderId: text("order_id").notNull(),
    sku: text("sku").notNull(),
    /** Keeps the lines in the order the customer gave them. */
    position: smallint("position").notNull(),
    qty: integer("qty").notNull(),
    status: text("status").$type<"pending" | "allocated" | "backordered" | "cancelled">().notNull(),
    batchref: text("batchref"),
    /** The allocated line's batch eta (`YYYY-MM-DD`) as line_allocated v2 said; null otherwise. */
    eta: date("eta", { mode: "string" }),
    /** Product version of the last allocation event applied to the line (0: none yet). */
    version: integer("version").notNull().default(0),
  },
  (t) => [
    primaryKey({ columns: [t.orderId, t.sku] }),
    foreignKey({ columns: [t.orderId], foreignColumns: [orders.orderId] }).onDelete("cascade"),
    check(
      "order_lines_status_check",
      sql`${t.status} in ('pending', 'allocated', 'backordered', 'cancelled')`,
    ),
    check("order_lines_batchref_check", sql`(${t.status} = 'allocated') = (${t.batchref} is not null)`),
  ],
);

export const customers = pgTable("customers", {
  customerId: text("customer_id").primaryKey(),
  orderCount: integer("order_count").notNull(),
  createdAt: at("created_at").notNull().defaultNow(),
  updatedAt: at("updated_at").notNull().defaultNow(),
});

/**
 * Answers given to `POST /orders` under an `Idempotency-Key`, kept at least 24 hours. The
 * primary key makes two concurrent requests with one key create a single order.
 */
export const idempotencyKeys = pgTable(
  "idempotency_keys",
  {
    key: text("key").primaryKey(),
    /** sha256 of the canonical request body. */
    requestHash: text("request_hash").notNull(),
    statusCode: smallint("status_code").notNull(),
    response: jsonb("response").$type<Record<string, unknown>>().notNull(),
    createdAt: at("created_at").notNull().defaultNow(),
  },
  (t) => [index("idempotency_keys_created_idx").on(t.createdAt)],
);
