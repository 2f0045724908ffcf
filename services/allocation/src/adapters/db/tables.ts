import { date, index, integer, pgTable, primaryKey, text, timestamp } from "drizzle-orm/pg-core";

/** One row per SKU: the aggregate root, whose version guards every write to its children. */
export const products = pgTable("products", {
  sku: text("sku").primaryKey(),
  version: integer("version").notNull(),
  updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
});

export const batches = pgTable(
  "batches",
  {
    reference: text("reference").primaryKey(),
    sku: text("sku")
      .notNull()
      .references(() => products.sku),
    qty: integer("qty").notNull(),
    eta: date("eta", { mode: "string" }),
    /** Product version at registration: the tie-breaker between equally preferred batches. */
    registeredVersion: integer("registered_version").notNull(),
  },
  (t) => [index("batches_sku_idx").on(t.sku)],
);

export const allocations = pgTable(
  "allocations",
  {
    orderId: text("order_id").notNull(),
    sku: text("sku")
      .notNull()
      .references(() => products.sku),
    batchRef: text("batch_ref").notNull(),
    qty: integer("qty").notNull(),
    /** Product version at allocation: newest lines leave a shrinking batch first. */
    allocatedVersion: integer("allocated_version").notNull(),
  },
  (t) => [primaryKey({ columns: [t.orderId, t.sku] }), index("allocations_sku_idx").on(t.sku)],
);

export const backorders = pgTable(
  "backorders",
  {
    orderId: text("order_id").notNull(),
    sku: text("sku")
      .notNull()
      .references(() => products.sku),
    qty: integer("qty").notNull(),
    /** Product version when the line started waiting: backorders are served in this order. */
    sinceVersion: integer("since_version").notNull(),
  },
  (t) => [primaryKey({ columns: [t.orderId, t.sku] }), index("backorders_sku_idx").on(t.sku)],
);
