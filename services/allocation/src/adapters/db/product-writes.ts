import type { Statement } from "@stockflow/messaging";
import type { ProductChanges } from "./product-changes.js";
import { Params } from "./statement.js";

// The write of one product's changes as one statement: the product row's version check
// first (CTE `p`), then every child write guarded by it, so a lost race writes nothing and
// costs one round trip. Rows travel as parallel arrays (unnest) to keep each statement's
// text, and so its prepared plan, the same whatever the number of rows.

const guard = "exists (select 1 from p)";

/**
 * The product row's move from the loaded version to the new one, or its creation. With
 * `unread` (orders whose lines on this product were assumed absent, not read), it moves
 * only if none of them has a line here either.
 */
function productRow(
  params: Params,
  sku: string,
  c: ProductChanges,
  { stored, unread, at }: { stored: boolean; unread: readonly string[]; at: string },
): string {
  const version = params.add(c.version, "int");
  const updatedAt = params.add(at, "timestamptz");
  if (!stored) {
    return `insert into products (sku, version, updated_at) values (${sku}, ${version}, ${updatedAt})
          on conflict do nothing returning sku`;
  }
  const loaded = params.add(c.loadedVersion, "int");
  let absent = "";
  if (unread.length) {
    const orders = params.add(unread, "text[]");
    absent = `
          and not exists (select 1 from allocations a where a.order_id = any(${orders}) and a.sku = ${sku})
          and not exists (select 1 from backorders w where w.order_id = any(${orders}) and w.sku = ${sku})`;
  }
  return `update products set version = ${version}, updated_at = ${updatedAt}
          where sku = ${sku} and version = ${loaded}${absent} returning sku`;
}

/** `sku` is the placeholder of the product's SKU. */
function childWrites(params: Params, sku: string, c: ProductChanges): string[] {
  const list = (values: readonly unknown[], type: string) => params.add(values, `${type}[]`);
  const steps: string[] = [];
  const { inserted, updated } = c.batches;
  if (inserted.length) {
    steps.push(`batches_in as (
      insert into batches (reference, sku, qty, eta, registered_version, allocated)
      select t.reference, ${sku}, t.qty, t.eta::date, t.registered, t.allocated
      from unnest(${list(
        inserted.map((b) => b.reference),
        "text",
      )}, ${list(
        inserted.map((b) => b.qty),
        "int",
      )}, ${list(
        inserted.map((b) => b.eta),
        "text",
      )}, ${list(
        inserted.map((b) => b.registeredAt),
        "int",
      )}, ${list(
        inserted.map((b) => b.allocated),
        "int",
      )}) as t(reference, qty, eta, registered, allocated)
      where ${guard})`);
  }
  if (updated.length) {
    steps.push(`batches_up as (
      update batches b set qty = t.qty, eta = t.eta::date, allocated = t.allocated
      from unnest(${list(
        updated.map((b) => b.reference),
        "text",
      )}, ${list(
        updated.map((b) => b.qty),
        "int",
      )}, ${list(
        updated.map((b) => b.eta),
        "text",
      )}, ${list(
        updated.map((b) => b.allocated),
        "int",
      )}) as t(reference, qty, eta, allocated)
      where b.sku = ${sku} and b.reference = t.reference and ${guard})`);
  }
  // Deletes take only rows that end removed; a line that moved is rewritten in place below.
  if (c.allocations.removed.length) {
    steps.push(`allocations_out as (
      delete from allocations where order_id = any(${list(c.allocations.removed, "text")})
      and sku = ${sku} and ${guard})`);
  }
  const placed = c.allocations.written;
  if (placed.length) {
    steps.push(`allocations_in as (
      insert into allocations (order_id, sku, batch_ref, qty, allocated_version)
      select t.order_id, ${sku}, t.batch_ref, t.qty, t.allocated_version
      from unnest(${list(
        placed.map((a) => a.orderId),
        "text",
      )}, ${list(
        placed.map((a) => a.batchref),
        "text",
      )}, ${list(
        placed.map((a) => a.qty),
        "int",
      )}, ${list(
        placed.map((a) => a.allocatedAt),
        "int",
      )}) as t(order_id, batch_ref, qty, allocated_version)
      where ${guard}
      on conflict (order_id, sku) do update
      set batch_ref = excluded.batch_ref, qty = excluded.qty, allocated_version = excluded.allocated_version)`);
  }
  if (c.backorders.removed.length) {
    steps.push(`backorders_out as (
      delete from backorders where order_id = any(${list(c.backorders.removed, "text")})
      and sku = ${sku} and ${guard})`);
  }
  const waiting = c.backorders.written;
  if (waiting.length) {
    steps.push(`backorders_in as (
      insert into backorders (order_id, sku, qty, since_version)
      select t.order_id, ${sku}, t.qty, t.since_version
      from unnest(${list(
        waiting.map((w) => w.orderId),
        "text",
      )}, ${list(
        waiting.map((w) => w.qty),
        "int",
      )}, ${list(
        waiting.map((w) => w.since),
        "int",
      )}) as t(order_id, qty, since_version)
      where ${guard}
      on conflict (order_id, sku) do update set qty = excluded.qty, since_version = excluded.since_version)`);
  }
  return steps;
}

/**
 * One statement writing `c`; it returns `written` = 1 when the product row moved from
 * `c.loadedVersion` (or was created), 0 when another transaction got there first, or a line
 * of an `unread` order exists after all (and then nothing else was written).
 */
export function saveStatement(
  c: ProductChanges,
  { stored, unread = [], now }: { stored: boolean; unread?: readonly string[]; now: Date },
): Statement {
  const params = new Params();
  const sku = params.add(c.sku, "text");
  const product = productRow(params, sku, c, { stored, unread, at: now.toISOString() });
  const steps = childWrites(params, sku, c).map((step) => `, ${step}`);
  return {
    text: `with p as (${product})${steps.join("")}
    select count(*)::int as written from p`,
    params: params.values,
  };
}
