import type { DbOrTx as Db } from "@stockflow/messaging";
import { type SQL, sql } from "drizzle-orm";
import type { ProductNeeds } from "../../app/ports.js";
import type { AllocationState, ProductState } from "../../domain/state.js";

// The reads of the product repository as plain SQL: one statement brings the product rows
// and, per product, its children as JSON arrays, so a load is one round trip whatever it needs.

type BatchTuple = [reference: string, qty: number, eta: string | null, registered: number, allocated: number];
type AllocationTuple = [orderId: string, batchRef: string, qty: number, allocatedVersion: number];
type BackorderTuple = [orderId: string, qty: number, sinceVersion: number];

interface ProductRow {
  sku: string;
  version: number;
  batches: BatchTuple[];
  allocations: AllocationTuple[];
  backorders: BackorderTuple[];
}

const none = sql`'[]'::json`;

/**
 * Rows of a raw statement. `DbOrTx` leaves the driver open, so `execute` is typed unknown;
 * the service's driver (postgres-js) answers an array of row objects.
 */
export async function rowsOf<T>(db: Db, query: SQL): Promise<T[]> {
  return (await db.execute(query)) as unknown as T[];
}

/** The rows of `orderIds` in the table aliased `alias` (with `<alias>.sku = p.sku`: the (order_id, sku) key). */
function linesOf(alias: "a" | "w", orderIds: readonly string[]): SQL {
  return sql`${sql.raw(alias)}.order_id = any(${sql.param(orderIds)}::text[])`;
}

/** The order's own allocated lines on the product, by the (order_id, sku) key. */
function orderLines(orderIds: readonly string[]): SQL {
  return sql`select a.order_id, a.batch_ref, a.qty, a.allocated_version from allocations a
    where ${linesOf("a", orderIds)} and a.sku = p.sku`;
}

/**
 * The most recently allocated lines of a batch about to be set to `qty` whose quantities add
 * up to at least the excess (allocated - qty), and no more: what must leave it. Every line
 * holds at least 1, so `excess` rows of the (batch_ref, allocated_version) index, read
 * backwards, are always enough. In the same statement as the batch's total, so both come
 * from one snapshot.
 */
function newestOf({ reference, qty }: NonNullable<ProductNeeds["resize"]>): SQL {
  const excess = sql`(select greatest(b.allocated - ${qty}::int, 0) from batches b where b.reference = ${reference})`;
  return sql`select r.order_id, r.batch_ref, r.qty, r.allocated_version from (
      select n.*, sum(n.qty) over (order by n.allocated_version desc rows unbounded preceding) as running
      from (
        select a.order_id, a.batch_ref, a.qty, a.allocated_version from allocations a
        where a.batch_ref = ${reference} and a.sku = p.sku
        order by a.allocated_version desc limit coalesce(${excess}, 0)
      ) n
    ) r where r.running - r.qty < coalesce(${excess}, 0)`;
}

/** Products matching `where` (over `products p`), each with every batch and what `needs` asks for. */
export async function loadProducts(db: Db, where: SQL, needs: ProductNeeds): Promise<ProductState[]> {
  const orderIds = needs.orderIds ?? [];
  const lineSources = [
    ...(orderIds.length ? [orderLines(orderIds)] : []),
    ...(needs.resize ? [newestOf(needs.resize)] : []),
  ];
  const allocated = lineSources.length
    ? sql`(select coalesce(json_agg(json_build_array(x.order_id, x.batch_ref, x.qty, x.allocated_version)), '[]')
           from (${sql.join(lineSources, sql` union `)}) x)`
    : none;
  // The whole queue, or only the order's own waiting lines.
  const waitingWhere = needs.queue ? sql`true` : orderIds.length ? linesOf("w", orderIds) : undefined;
  const waiting = waitingWhere
    ? sql`(select coalesce(json_agg(json_build_array(w.order_id, w.qty, w.since_version)), '[]')
           from backorders w where ${waitingWhere} and w.sku = p.sku)`
    : none;
  const rows = await rowsOf<ProductRow>(
    db,
    sql`
    select p.sku, p.version,
      (select coalesce(json_agg(json_build_array(b.reference, b.qty, b.eta, b.registered_version, b.allocated)), '[]')
       from batches b where b.sku = p.sku) as batches,
      ${allocated} as allocations,
      ${waiting} as backorders
    from products p where ${where}`,
  );
  return rows.map((r) => ({
    sku: r.sku,
    version: r.version,
    batches: r.batches.map(([reference, qty, eta, registeredAt, allocated]) => ({
      reference,
      qty,
      eta,
      registeredAt,
      allocated,
    })),
    allocations: r.allocations.map(toAllocation),
    backorders: r.backorders.map(([orderId, qty, since]) => ({ orderId, qty, since })),
    queueComplete: needs.queue === true,
  }));
}

function toAllocation([orderId, batchref, qty, allocatedAt]: AllocationTuple): AllocationState {
  return { orderId, batchref, qty, allocatedAt };
}
