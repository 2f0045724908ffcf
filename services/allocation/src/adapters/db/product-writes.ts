import { type SQL, sql } from "drizzle-orm";
import type { ProductChanges } from "../../domain/changes.js";

// The write of one product's changes as one statement: the product row's version check
// first (CTE `p`), then every child write guarded by it, so a lost race writes nothing and
// costs one round trip. Rows travel as parallel arrays (unnest) to keep each statement's
// text, and so its prepared plan, the same whatever the number of rows.

const guard = sql`exists (select 1 from p)`;
const list = (values: readonly unknown[], type: string) => sql`${sql.param(values)}::${sql.raw(type)}[]`;

function productRow(c: ProductChanges, stored: boolean, at: string): SQL {
  return stored
    ? sql`update products set version = ${c.version}::int, updated_at = ${at}::timestamptz
          where sku = ${c.sku} and version = ${c.loadedVersion}::int returning sku`
    : sql`insert into products (sku, version, updated_at) values (${c.sku}, ${c.version}::int, ${at}::timestamptz)
          on conflict do nothing returning sku`;
}

function childWrites(c: ProductChanges): SQL[] {
  const sku = sql`${c.sku}::text`;
  const steps: SQL[] = [];
  const { inserted, updated } = c.batches;
  if (inserted.length) {
    steps.push(sql`batches_in as (
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
    steps.push(sql`batches_up as (
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
    steps.push(sql`allocations_out as (
      delete from allocations where order_id = any(${list(c.allocations.removed, "text")})
      and sku = ${sku} and ${guard})`);
  }
  const placed = c.allocations.written;
  if (placed.length) {
    steps.push(sql`allocations_in as (
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
    steps.push(sql`backorders_out as (
      delete from backorders where order_id = any(${list(c.backorders.removed, "text")})
      and sku = ${sku} and ${guard})`);
  }
  const waiting = c.backorders.written;
  if (waiting.length) {
    steps.push(sql`backorders_in as (
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
 * `c.loadedVersion` (or was created), 0 when another transaction got there first (and then
 * nothing else was written).
 */
export function saveStatement(c: ProductChanges, stored: boolean, now: Date): SQL {
  const steps = childWrites(c).map((step) => sql`, ${step}`);
  return sql`with p as (${productRow(c, stored, now.toISOString())})${sql.join(steps)}
    select count(*)::int as written from p`;
}
