import { jetstreamManager } from "@nats-io/jetstream";
import { waitFor } from "@stockflow/testkit";
import type { Sql } from "postgres";
import type { StreamName } from "./bus.js";
import { openServiceDatabases } from "./databases.js";
import { type ServiceName, type Stack, serviceNames } from "./stack.js";

// What must hold after any fault, read straight from the three databases and the streams
// (docs/system-contract.md, "Quality bars"). Table names come from each service's drizzle
// schema (services/*/src/adapters/db); the outbox and inbox are the messaging kit's.

/** A dead letter the test caused on purpose: `dlq.<consumer service>.<original subject>` and why. */
export interface ExpectedDeadLetter {
  subject: string;
  reason: "invalid_json" | "schema_violation" | "unknown_version" | "max_deliveries";
}

export interface InvariantOptions {
  /** Every order id the storefront answered 202. */
  acceptedOrderIds: readonly string[];
  /** Exactly what the DLQ must hold (default: nothing). */
  expectedDeadLetters?: readonly ExpectedDeadLetter[];
  /** How long the system may take to settle (default 60 s). */
  timeoutMs?: number;
}

export interface SettledState {
  /** Final status of each accepted order, derived from its lines as ordering derives it. */
  orderStatus: Map<string, string>;
}

const EVENT_STREAMS: Record<ServiceName, StreamName> = {
  ordering: "ORDERING",
  allocation: "ALLOCATION",
  warehouse: "WAREHOUSE",
};

type Row = Record<string, unknown>;
const keyOf = (row: Row, fields: string[]) => fields.map((f) => String(row[f])).join("|");

/** Rows of `a` missing from `b` and the other way round, as short readable lines. */
function sameRows(
  what: string,
  a: { name: string; rows: Row[] },
  b: { name: string; rows: Row[] },
  fields: string[],
) {
  const left = new Set(a.rows.map((r) => keyOf(r, fields)));
  const right = new Set(b.rows.map((r) => keyOf(r, fields)));
  const onlyLeft = [...left].filter((k) => !right.has(k));
  const onlyRight = [...right].filter((k) => !left.has(k));
  const out: string[] = [];
  if (onlyLeft.length)
    out.push(
      `${what}: ${onlyLeft.length} in ${a.name} only (${fields.join("|")}): ${onlyLeft.slice(0, 5).join(", ")}`,
    );
  if (onlyRight.length)
    out.push(
      `${what}: ${onlyRight.length} in ${b.name} only (${fields.join("|")}): ${onlyRight.slice(0, 5).join(", ")}`,
    );
  if (left.size !== a.rows.length) out.push(`${what}: ${a.name} holds a row twice`);
  if (right.size !== b.rows.length) out.push(`${what}: ${b.name} holds a row twice`);
  return out;
}

async function consumerLag(stack: Stack): Promise<string[]> {
  const jsm = await jetstreamManager(stack.natsConnection);
  const out: string[] = [];
  for (const stream of ["ORDERING", "ALLOCATION", "WAREHOUSE"] as const) {
    for await (const c of jsm.consumers.list(stream)) {
      const lag = c.num_pending + c.num_ack_pending;
      if (lag > 0) out.push(`consumer ${c.name} on ${stream} has ${lag} message(s) to go`);
    }
  }
  return out;
}

/** The system is quiet: outboxes empty, every durable consumer caught up, every accepted order answered. */
async function unsettled(stack: Stack, dbs: Record<ServiceName, Sql>, accepted: readonly string[]) {
  const out: string[] = [];
  for (const name of serviceNames) {
    const [row] = await dbs[name]`select count(*)::int as n from outbox where published_at is null`;
    if (row?.n) out.push(`${name}: ${row.n} outbox row(s) unpublished`);
  }
  out.push(...(await consumerLag(stack)));
  const known = await dbs.ordering<{ order_id: string; pending: boolean }[]>`
    select o.order_id, (o.cancelled_at is null and bool_or(l.status = 'pending')) as pending
    from orders o join order_lines l using (order_id)
    where o.order_id = any(${accepted as string[]})
    group by o.order_id, o.cancelled_at`;
  const found = new Set(known.map((r) => r.order_id));
  const missing = accepted.filter((id) => !found.has(id));
  if (missing.length)
    out.push(`${missing.length} accepted order(s) missing in ordering: ${missing.slice(0, 5).join(", ")}`);
  const pending = known.filter((r) => r.pending).map((r) => r.order_id);
  if (pending.length) out.push(`${pending.length} order(s) still pending: ${pending.slice(0, 5).join(", ")}`);
  return out;
}

/** The three databases agree with each other and with the allocation rules. */
async function inconsistencies(dbs: Record<ServiceName, Sql>): Promise<string[]> {
  const out: string[] = [];
  const over = await dbs.allocation`
    select b.reference, b.qty, sum(a.qty)::int as allocated
    from batches b join allocations a on a.batch_ref = b.reference
    group by b.reference, b.qty having sum(a.qty) > b.qty`;
  for (const r of over) out.push(`batch ${r.reference} over-allocated: ${r.allocated} of ${r.qty}`);
  const stray = await dbs.allocation`
    select a.order_id, a.sku, a.batch_ref from allocations a left join batches b on b.reference = a.batch_ref
    where b.reference is null or b.sku <> a.sku`;
  for (const r of stray)
    out.push(`allocation ${r.order_id}/${r.sku} names batch ${r.batch_ref} of another sku`);
  const twice = await dbs.allocation`
    select order_id, sku from allocations intersect select order_id, sku from backorders`;
  for (const r of twice) out.push(`line ${r.order_id}/${r.sku} is both allocated and backordered`);
  // Backorders are served whenever stock arrives or frees: none may wait beside a batch that fits it.
  const starved = await dbs.allocation`
    select w.order_id, w.sku, w.qty, s.reference, s.available
    from backorders w join (
      select b.reference, b.sku, b.qty - coalesce(sum(a.qty), 0)::int as available
      from batches b left join allocations a on a.batch_ref = b.reference
      group by b.reference, b.sku, b.qty) s on s.sku = w.sku and s.available >= w.qty`;
  for (const r of starved)
    out.push(
      `backorder ${r.order_id}/${r.sku} (${r.qty}) waits while batch ${r.reference} has ${r.available}`,
    );

  // With the eta of the line's batch, which ordering shows on the line (line_allocated v2).
  const allocations = await dbs.allocation`
    select a.order_id, a.sku, a.batch_ref as batchref, a.qty, b.eta::text as eta
    from allocations a join batches b on b.reference = a.batch_ref`;
  const allocatedLines = await dbs.ordering`
    select order_id, sku, batchref, qty, eta::text as eta from order_lines where status = 'allocated'`;
  const pendingDispatches = await dbs.warehouse`
    select order_id, sku, batchref, qty from dispatch_instructions where status = 'pending'`;
  const line = ["order_id", "sku", "batchref", "qty"];
  out.push(
    ...sameRows(
      "allocated lines",
      { name: "allocation", rows: allocations },
      { name: "ordering", rows: allocatedLines },
      [...line, "eta"],
    ),
    ...sameRows(
      "dispatches",
      { name: "allocation", rows: allocations },
      { name: "warehouse (pending)", rows: pendingDispatches },
      line,
    ),
  );

  const backorders = await dbs.allocation`select order_id, sku, qty from backorders`;
  const backorderedLines = await dbs.ordering`
    select order_id, sku, qty from order_lines where status = 'backordered'`;
  out.push(
    ...sameRows(
      "backorders",
      { name: "allocation", rows: backorders },
      { name: "ordering", rows: backorderedLines },
      ["order_id", "sku", "qty"],
    ),
  );

  const stockHere = await dbs.allocation`select reference, sku, qty from batches`;
  const stockThere = await dbs.warehouse`select reference, sku, qty from batches`;
  out.push(
    ...sameRows("batches", { name: "warehouse", rows: stockThere }, { name: "allocation", rows: stockHere }, [
      "reference",
      "sku",
      "qty",
    ]),
  );

  // ordering counts an order for its customer in the order's own transaction: a count that
  // differs from the orders kept means a request took effect twice (or half).
  const miscounted = await dbs.ordering`
    select c.customer_id, c.order_count, count(o.order_id)::int as orders
    from customers c left join orders o using (customer_id)
    group by c.customer_id, c.order_count having c.order_count <> count(o.order_id)`;
  for (const r of miscounted)
    out.push(`customer ${r.customer_id} counts ${r.order_count} orders, has ${r.orders}`);
  return out;
}

/**
 * Every event a service committed to its outbox is on its stream, and none was published
 * twice by its producer (the relay sends `Nats-Msg-Id` = `ce-id`; copies a test republishes
 * on purpose carry another id). The DLQ holds exactly the expected dead letters.
 */
async function streamProblems(
  stack: Stack,
  dbs: Record<ServiceName, Sql>,
  expected: readonly ExpectedDeadLetter[],
): Promise<string[]> {
  const out: string[] = [];
  for (const name of serviceNames) {
    const events = await stack.readStream(EVENT_STREAMS[name]);
    const published = events.filter(
      (e) => e.headers["ce-id"] && e.headers["nats-msg-id"] === e.headers["ce-id"],
    );
    const seen = new Map<string, number>();
    for (const e of published) seen.set(e.headers["ce-id"]!, (seen.get(e.headers["ce-id"]!) ?? 0) + 1);
    const repeated = [...seen].filter(([, n]) => n > 1).map(([id]) => id);
    if (repeated.length)
      out.push(
        `${EVENT_STREAMS[name]}: ${repeated.length} event(s) published twice: ${repeated.slice(0, 3).join(", ")}`,
      );
    const onStream = new Set(events.map((e) => e.headers["ce-id"]));
    const rows = await dbs[name]<
      { event_id: string; subject: string }[]
    >`select event_id::text, subject from outbox`;
    const lost = rows.filter((r) => !onStream.has(r.event_id));
    if (lost.length)
      out.push(
        `${name}: ${lost.length} outbox event(s) never reached ${EVENT_STREAMS[name]}: ${lost
          .slice(0, 3)
          .map((r) => `${r.subject} ${r.event_id}`)
          .join(", ")}`,
      );
  }
  const dead = (await stack.readStream("DLQ")).map((e) => `${e.subject} ${e.headers["dlq-reason"]}`).sort();
  const want = expected.map((d) => `${d.subject} ${d.reason}`).sort();
  if (JSON.stringify(dead) !== JSON.stringify(want)) {
    out.push(`DLQ holds [${dead.join(", ")}], expected [${want.join(", ")}]`);
  }
  return out;
}

/**
 * Waits until the system has settled after a fault (outboxes drained, consumers caught up,
 * every accepted order answered), then checks that the three databases agree, that no
 * event was lost or published twice and that the DLQ holds only what the test sent.
 * Throws one error listing every violation, with the services' recent output.
 */
export async function assertInvariants(stack: Stack, options: InvariantOptions): Promise<SettledState> {
  const { acceptedOrderIds, expectedDeadLetters = [], timeoutMs = 60_000 } = options;
  const dbs = openServiceDatabases(stack);
  const fail = (problems: string[]) =>
    new Error(`invariants violated:\n- ${problems.join("\n- ")}\n${stack.logs()}`);
  try {
    let last: string[] = [];
    const settled = await waitFor(
      async () => {
        last = await unsettled(stack, dbs, acceptedOrderIds);
        if (last.length) return false;
        // Consistency is the state the system converges to, so it is polled too; a
        // violation that lasts past the deadline is reported.
        last = await inconsistencies(dbs);
        return last.length === 0;
      },
      { timeoutMs, intervalMs: 200, message: "the system to settle" },
    ).catch(() => undefined);
    if (!settled) throw fail(last);

    const problems = await streamProblems(stack, dbs, expectedDeadLetters);
    if (problems.length) throw fail(problems);

    const rows = await dbs.ordering<{ order_id: string; status: string }[]>`
      select o.order_id,
        case when o.cancelled_at is not null then 'cancelled'
             when bool_and(l.status = 'allocated') then 'allocated'
             when bool_or(l.status = 'allocated') then 'partially_allocated'
             else 'backordered' end as status
      from orders o join order_lines l using (order_id)
      where o.order_id = any(${acceptedOrderIds as string[]})
      group by o.order_id, o.cancelled_at`;
    return { orderStatus: new Map(rows.map((r) => [r.order_id, r.status])) };
  } finally {
    await dbs.close();
  }
}

/**
 * "Per SKU, allocation's events keep the order in which they happened": on the ALLOCATION
 * stream, each SKU's product version never goes down (v1 and v2 of one change carry the
 * same version). Only events as the relays published them count (Nats-Msg-Id = ce-id). Not
 * part of assertInvariants: a publish that fails while later ones of its run succeed (a
 * broker going away) sends it again after them, so scenarios that kill the broker may break it.
 */
export async function allocationEventsOutOfOrder(stack: Stack): Promise<string[]> {
  const events = await stack.readStream<{ sku: string; version: number }>("ALLOCATION");
  const last = new Map<string, { version: number; seq: number }>();
  const out: string[] = [];
  for (const e of events) {
    if (!e.headers["ce-id"] || e.headers["nats-msg-id"] !== e.headers["ce-id"]) continue;
    const { sku, version } = e.payload;
    const before = last.get(sku);
    if (before && version < before.version)
      out.push(
        `${sku}: version ${version} at seq ${e.seq} after version ${before.version} at seq ${before.seq}`,
      );
    if (!before || version > before.version) last.set(sku, { version, seq: e.seq });
  }
  return out;
}
