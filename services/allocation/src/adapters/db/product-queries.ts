import { type DbOrTx as Db, sendPrepared } from "@stockflow/messaging";
import type { ProductNeeds } from "../../app/ports.js";
import type { AllocationState, ProductState } from "../../domain/state.js";
import { Params } from "./statement.js";

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

/** Which products a load reads: the condition over `products p`, its values added to `params`. */
export type ProductsWhere = (params: Params) => string;

const none = `'[]'::json`;

/** The rows of `orderIds` in the table aliased `alias` (with `<alias>.sku = p.sku`: the (order_id, sku) key). */
function linesOf(params: Params, alias: "a" | "w", orderIds: readonly string[]): string {
  return `${alias}.order_id = any(${params.add(orderIds, "text[]")})`;
}

/** The order's own allocated lines on the product, by the (order_id, sku) key. */
function orderLines(params: Params, orderIds: readonly string[]): string {
  return `select a.order_id, a.batch_ref, a.qty, a.allocated_version from allocations a
    where ${linesOf(params, "a", orderIds)} and a.sku = p.sku`;
}

/**
 * The most recently allocated lines of a batch about to be set to `qty` whose quantities add
 * up to at least the excess (allocated - qty), and no more: what must leave it. Every line
 * holds at least 1, so `excess` rows of the (batch_ref, allocated_version) index, read
 * backwards, are always enough. In the same statement as the batch's total, so both come
 * from one snapshot.
 */
function newestOf(params: Params, { reference, qty }: NonNullable<ProductNeeds["resize"]>): string {
  const ref = params.add(reference, "text");
  const excess = `(select greatest(b.allocated - ${params.add(qty, "int")}, 0) from batches b where b.reference = ${ref})`;
  return `select r.order_id, r.batch_ref, r.qty, r.allocated_version from (
      select n.*, sum(n.qty) over (order by n.allocated_version desc rows unbounded preceding) as running
      from (
        select a.order_id, a.batch_ref, a.qty, a.allocated_version from allocations a
        where a.batch_ref = ${ref} and a.sku = p.sku
        order by a.allocated_version desc limit coalesce(${excess}, 0)
      ) n
    ) r where r.running - r.qty < coalesce(${excess}, 0)`;
}

/** Every line allocated to the batch: what a delay of its shipment announces again. */
function batchLines(params: Params, reference: string): string {
  return `select a.order_id, a.batch_ref, a.qty, a.allocated_version from allocations a
    where a.batch_ref = ${params.add(reference, "text")} and a.sku = p.sku`;
}

/** Products matching `where` (over `products p`), each with every batch and what `needs` asks for. */
export async function loadProducts(
  db: Db,
  where: ProductsWhere,
  needs: ProductNeeds,
): Promise<ProductState[]> {
  const params = new Params();
  const orderIds = needs.orderIds ?? [];
  const lineSources = [
    ...(orderIds.length ? [orderLines(params, orderIds)] : []),
    ...(needs.resize ? [newestOf(params, needs.resize)] : []),
    ...(needs.linesOfBatch ? [batchLines(params, needs.linesOfBatch)] : []),
  ];
  const allocated = lineSources.length
    ? `(select coalesce(json_agg(json_build_array(x.order_id, x.batch_ref, x.qty, x.allocated_version)), '[]')
           from (${lineSources.join(" union ")}) x)`
    : none;
  // The whole queue, or only the order's own waiting lines.
  const waitingWhere = needs.queue ? "true" : orderIds.length ? linesOf(params, "w", orderIds) : undefined;
  const waiting = waitingWhere
    ? `(select coalesce(json_agg(json_build_array(w.order_id, w.qty, w.since_version)), '[]')
           from backorders w where ${waitingWhere} and w.sku = p.sku)`
    : none;
  const text = `
    select p.sku, p.version,
      (select coalesce(json_agg(json_build_array(b.reference, b.qty, b.eta, b.registered_version, b.allocated)), '[]')
       from batches b where b.sku = p.sku) as batches,
      ${allocated} as allocations,
      ${waiting} as backorders
    from products p where ${where(params)}`;
  const rows = await sendPrepared<ProductRow>(db, { text, params: params.values });
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
    ...(needs.linesOfBatch ? { linesOfBatch: needs.linesOfBatch } : {}),
  }));
}

function toAllocation([orderId, batchref, qty, allocatedAt]: AllocationTuple): AllocationState {
  return { orderId, batchref, qty, allocatedAt };
}
