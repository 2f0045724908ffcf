import { sql } from "drizzle-orm";
import {
  bigint,
  boolean,
  check,
  date,
  index,
  integer,
  pgTable,
  primaryKey,
  text,
  timestamp,
} from "drizzle-orm/pg-core";

// Every hot query reads through an index, bounded by what the change needs rather than by
// the product's history: a product by its SKU, an order's lines by (order_id, sku), a SKU's
// batches by sku, its waiting queue by (sku, since_version), and the newest lines of a
// shrinking batch by (batch_ref, allocated_version).

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
    /**
     * The sum of the qty of its allocations, kept in the same transaction as they change, so
     * that deciding never sums a product's allocations.
     */
    allocated: integer("allocated").notNull().default(0),
  },
  (t) => [
    index("batches_sku_idx").on(t.sku),
    // Stock is never over-allocated, whatever the code above the database does.
    check("batches_allocated_within_qty", sql`${t.allocated} >= 0 and ${t.allocated} <= ${t.qty}`),
  ],
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
  (t) => [
    primaryKey({ columns: [t.orderId, t.sku] }),
    index("allocations_batch_newest_idx").on(t.batchRef, t.allocatedVersion),
  ],
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
  (t) => [
    primaryKey({ columns: [t.orderId, t.sku] }),
    index("backorders_queue_idx").on(t.sku, t.sinceVersion),
  ],
);

/**
 * One row per order heard of, placed or cancelled, whichever came first. Its row lock, taken
 * first by every transaction about the order (`insert ... on conflict`), serializes a
 * placement and its cancellation across replicas; `cancelled` stays true for good, so a
 * placement that arrives after its cancellation (a tombstone) allocates nothing. A record
 * that is not a tombstone guards nothing once committed: retention deletes it (see
 * retention.ts), on the partial index of those rows by `recorded_at`.
 */
export const orderRecords = pgTable(
  "order_records",
  {
    orderId: text("order_id").primaryKey(),
    cancelled: boolean("cancelled").notNull().default(false),
    recordedAt: timestamp("recorded_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index("order_records_placed_idx").on(t.recordedAt).where(sql`not ${t.cancelled}`)],
);

/**
 * Per batch and kind of news (quantity, eta): the WAREHOUSE stream sequence of the last one
 * applied. Warehouse publishes a batch's news in the order it committed them, so an older
 * sequence arriving later (a redelivery, another replica's slower transaction) is stale.
 */
export const batchNews = pgTable(
  "batch_news",
  {
    reference: text("reference").notNull(),
    kind: text("kind", { enum: ["quantity", "eta"] }).notNull(),
    streamSequence: bigint("stream_sequence", { mode: "number" }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.reference, t.kind] })],
);
