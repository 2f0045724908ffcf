import { randomUUID } from "node:crypto";

// The statements the services run per order (and per event) on their hot paths, written out
// here as the services send them (keep in step with the files named), each EXPLAIN ANALYZEd
// in a transaction that is rolled back, so that writes leave nothing behind. Each is also
// run as a generic plan (what a prepared statement settles on after five executions).

/** A table with more rows than this is "big": a sequential scan of it is a finding. */
const BIG_TABLE_ROWS = 10_000;

const ROLLBACK = Symbol("rollback");

/** A SQL literal of a parameter the bench made itself (text, numbers, null, arrays of them). */
function literal(v) {
  if (v === null || v === undefined) return "null";
  if (Array.isArray(v)) return `array[${v.map(literal).join(", ")}]`;
  if (typeof v === "number") return String(v);
  return `'${String(v).replace(/'/g, "''")}'`;
}

/** `Seq Scan on batches`, `Index Scan using allocations_pkey on allocations`, `Insert on inbox (on conflict ...)`. */
function nodeName(p) {
  let s = p["Node Type"];
  if (p.Operation && p["Node Type"] === "ModifyTable") s = p.Operation;
  if (p["Index Name"]) s += ` using ${p["Index Name"]}`;
  if (p["Relation Name"]) s += ` on ${p["Relation Name"]}`;
  if (p["Conflict Resolution"]) {
    const arbiters = p["Conflict Arbiter Indexes"] ?? [];
    s += ` (on conflict ${p["Conflict Resolution"].toLowerCase()}${arbiters.length ? ` via ${arbiters.join(", ")}` : ""})`;
  }
  return s;
}

/** The plan as one line: each node, its inputs after `<-`. */
export function describePlan(p) {
  return `${nodeName(p)}${p.Plans ? ` <- [${p.Plans.map(describePlan).join(", ")}]` : ""}`;
}

function seqScans(p, out = []) {
  if (p["Node Type"] === "Seq Scan")
    out.push({ relation: p["Relation Name"], rows: p["Actual Rows"], loops: p["Actual Loops"] });
  for (const child of p.Plans ?? []) seqScans(child, out);
  return out;
}

/**
 * EXPLAIN (ANALYZE, BUFFERS) of `text` in a transaction rolled back afterwards; with `generic`,
 * of the generic plan a prepared statement of it gets.
 */
async function explain(sql, text, params, { generic }) {
  const name = `bench_plan_${randomUUID().replace(/-/g, "")}`;
  let plan;
  await sql
    .begin(async (tx) => {
      let rows;
      if (generic) {
        await tx.unsafe(`prepare ${name} as ${text}`);
        await tx.unsafe("set local plan_cache_mode = force_generic_plan");
        // EXECUTE's arguments as literals (PostgreSQL types no protocol parameter inside an
        // EXECUTE), cast to the types PREPARE inferred.
        const [{ types }] = await tx`
          select parameter_types::text[] as types from pg_prepared_statements where name = ${name}`;
        const args = params.map((v, i) => `${literal(v)}::${types[i]}`).join(", ");
        rows = await tx.unsafe(
          `explain (analyze, buffers, format json) execute ${name}${args ? `(${args})` : ""}`,
        );
        await tx.unsafe(`deallocate ${name}`);
      } else {
        rows = await tx.unsafe(`explain (analyze, buffers, format json) ${text}`, params);
      }
      plan = rows[0]["QUERY PLAN"][0];
      throw ROLLBACK;
    })
    .catch((err) => {
      if (err !== ROLLBACK) throw err;
    });
  return plan;
}

/** Rows per table now (the statistics collector's live tuples: exact enough to tell big from small). */
async function tableSizes(sql) {
  const rows = await sql`select relname, n_live_tup::bigint::text as n from pg_stat_user_tables`;
  return Object.fromEntries(rows.map((r) => [r.relname, Number(r.n)]));
}

/** A consumer's batch (packages/messaging consumer.ts batchSize). */
const BATCH = 64;

const pending = (service) => ({
  path: `${service} outbox relay: the lock and the pending rows (packages/messaging relay.ts)`,
  text: `select l.locked, o.id, o.event_id, o.subject, o.payload, o.headers
    from (select pg_try_advisory_xact_lock(hashtext($1::text)) as locked) l
    left join lateral (
      select id, event_id, subject, payload, headers from outbox
      where l.locked and published_at is null
      order by id limit $2::int
    ) o on true`,
  params: [`outbox:${service}`, 500],
});

const inboxInsert = (consumer, subject) => ({
  path: `${consumer} consumer: a batch's inbox insert, conflict check (packages/messaging consumer.ts)`,
  text: `insert into inbox (consumer, message_id, subject, processed_at)
    select $1::text, t.id, t.subject, now() from unnest($2::text[], $3::text[]) as t (id, subject)
    on conflict do nothing returning message_id`,
  params: [consumer, Array.from({ length: BATCH }, () => randomUUID()), Array(BATCH).fill(subject)],
});

const texts = (values) => values.map((v) => (v === null ? null : String(v)));

/**
 * Every hot path's statements on the tables as they are now, for the run's newest order (its
 * order id, customer, SKU, batch), or its newest 64 where a consumer handles a batch at once.
 * Answers them by key, each with its plan, its generic plan, and the sequential scans of big
 * tables in either.
 */
export async function hotPathPlans({ ordering, allocation, warehouse }) {
  const recent = await ordering`
    select o.payload->>'orderId' as order_id, o.payload->>'customerId' as customer_id,
      l.sku, l.batchref, l.version
    from outbox o join order_lines l on l.order_id = o.payload->>'orderId'
    where o.subject = 'ordering.order_placed.v1' and l.status = 'allocated'
    order by o.id desc limit ${BATCH}`;
  const order = recent[0];
  if (!order) return {};
  const now = new Date().toISOString();
  const [product] = await allocation`select version from products where sku = ${order.sku}`;
  const batches = await allocation`
    select reference, qty, eta::text as eta, allocated from batches where sku = ${order.sku} order by reference`;
  const batch = batches.find((b) => b.reference === order.batchref) ?? batches[0];
  const fresh = randomUUID();

  // loadProducts (services/allocation/src/adapters/db/product-queries.ts) as it reads a
  // placed order's product: every batch, the order's own line, its own backorder.
  const batchesOf = `(select coalesce(json_agg(json_build_array(b.reference, b.qty, b.eta, b.registered_version, b.allocated)), '[]')
       from batches b where b.sku = p.sku) as batches`;
  const ordersLines = (
    param,
  ) => `(select coalesce(json_agg(json_build_array(x.order_id, x.batch_ref, x.qty, x.allocated_version)), '[]')
       from (select a.order_id, a.batch_ref, a.qty, a.allocated_version from allocations a
             where a.order_id = any(${param}::text[]) and a.sku = p.sku) x) as allocations`;
  const waiting = (
    where,
  ) => `(select coalesce(json_agg(json_build_array(w.order_id, w.qty, w.since_version)), '[]')
       from backorders w where ${where} and w.sku = p.sku) as backorders`;

  const paths = {
    ordering: {
      ordersForUpdate: {
        path: "ordering allocation reports: a batch's orders and their lines, locked (order-repository.ts getManyForUpdate)",
        text: `select o.*, l.* from orders o inner join order_lines l on l.order_id = o.order_id
          where o.order_id = any($1::text[]) and l.order_id = any($1::text[]) order by o.order_id asc, l.position asc for update`,
        params: [recent.map((r) => r.order_id)],
      },
      ordersSave: {
        path: "ordering allocation reports: a batch's orders and lines updated (order-repository.ts saveMany)",
        text: `with changed_orders as (
            update orders set cancelled_at = v.cancelled_at::timestamptz, updated_at = v.updated_at::timestamptz
            from unnest($1::text[], $2::text[], $3::text[]) as v (order_id, cancelled_at, updated_at)
            where orders.order_id = v.order_id returning orders.order_id)
          update order_lines set status = v.status, batchref = v.batchref, version = v.version::int
          from unnest($4::text[], $5::text[], $6::text[], $7::text[], $8::text[])
            as v (order_id, sku, status, batchref, version)
          where order_lines.order_id = v.order_id and order_lines.sku = v.sku`,
        params: [
          recent.map((r) => r.order_id),
          recent.map(() => null),
          recent.map(() => now),
          recent.map((r) => r.order_id),
          recent.map((r) => r.sku),
          recent.map(() => "allocated"),
          recent.map((r) => r.batchref),
          texts(recent.map((r) => r.version + 1)),
        ],
      },
      orderView: {
        path: "ordering GET /orders/:id (order-repository.ts get)",
        text: `select o.*, l.* from orders o inner join order_lines l on l.order_id = o.order_id
          where o.order_id = $1::text order by l.position asc`,
        params: [order.order_id],
      },
      customerCount: {
        path: "ordering POST /orders: the customer's count (order-intake.ts)",
        text: `insert into customers (customer_id, order_count) values ($1::text, 1)
          on conflict (customer_id) do update
            set order_count = customers.order_count + excluded.order_count, updated_at = now()
          returning customer_id, order_count`,
        params: [order.customer_id],
      },
      inboxInsert: inboxInsert("ordering-allocation", "allocation.line_allocated.v1"),
      outboxPending: pending("ordering"),
      outboxMarkPublished: {
        path: "ordering outbox relay: mark a batch published (relay.ts)",
        text: `update outbox set published_at = now() where id = any($1::bigint[])`,
        params: [["1", "2", "3"]],
      },
      outboxBacklog: {
        path: "ordering outbox backlog gauge (relay.ts backlog, read on /metrics)",
        text: `select count(*)::int as pending, min(created_at)::text as oldest from outbox where published_at is null`,
        params: [],
      },
    },
    allocation: {
      loadForPlacedOrder: {
        path: "allocation order_placed: load the product with the order's lines (product-queries.ts)",
        text: `select p.sku, p.version, ${batchesOf}, ${ordersLines("$1")}, ${waiting("w.order_id = any($2::text[])")}
          from products p where p.sku = any($3::text[])`,
        params: [[fresh], [fresh], [order.sku]],
      },
      saveAllocation: {
        path: "allocation order_placed: save the product, its batch total and the new line (product-writes.ts)",
        text: `with p as (update products set version = $2::int, updated_at = $3::timestamptz
              where sku = $1::text and version = $4::int returning sku),
            batches_up as (update batches b set qty = t.qty, eta = t.eta::date, allocated = t.allocated
              from unnest($5::text[], $6::int[], $7::text[], $8::int[]) as t(reference, qty, eta, allocated)
              where b.sku = $1::text and b.reference = t.reference and exists (select 1 from p)),
            allocations_in as (insert into allocations (order_id, sku, batch_ref, qty, allocated_version)
              select t.order_id, $1::text, t.batch_ref, t.qty, t.allocated_version
              from unnest($9::text[], $10::text[], $11::int[], $12::int[]) as t(order_id, batch_ref, qty, allocated_version)
              where exists (select 1 from p)
              on conflict (order_id, sku) do update
              set batch_ref = excluded.batch_ref, qty = excluded.qty, allocated_version = excluded.allocated_version)
          select count(*)::int as written from p`,
        params: [
          order.sku,
          product.version + 1,
          now,
          product.version,
          [batch.reference],
          [batch.qty],
          [batch.eta],
          [batch.allocated + 1],
          [fresh],
          [batch.reference],
          [1],
          [product.version + 1],
        ],
      },
      inboxInsert: inboxInsert("allocation-ordering", "ordering.order_placed.v1"),
      outboxPending: pending("allocation"),
      loadForCancel: {
        path: "allocation order_cancelled: the order's products, its lines and the whole queue (product-repository.ts withOrder)",
        text: `select p.sku, p.version, ${batchesOf}, ${ordersLines("$1")}, ${waiting("true")}
          from products p where p.sku in (select sku from allocations where order_id = $2::text
                                          union select sku from backorders where order_id = $2::text)`,
        params: [[order.order_id], order.order_id],
      },
      newestOfShrinkingBatch: {
        path: "allocation batch_quantity_changed: the newest lines of a batch shrunk by 3 (product-queries.ts newestOf)",
        text: `select r.order_id, r.batch_ref, r.qty, r.allocated_version from (
            select n.*, sum(n.qty) over (order by n.allocated_version desc rows unbounded preceding) as running
            from (
              select a.order_id, a.batch_ref, a.qty, a.allocated_version from allocations a
              where a.batch_ref = $1::text and a.sku = $2::text
              order by a.allocated_version desc
              limit coalesce((select greatest(b.allocated - $3::int, 0) from batches b where b.reference = $1::text), 0)
            ) n
          ) r where r.running - r.qty < coalesce((select greatest(b.allocated - $3::int, 0) from batches b where b.reference = $1::text), 0)`,
        params: [batch.reference, order.sku, Math.max(0, batch.allocated - 3)],
      },
      productView: {
        path: "allocation GET /products/:sku: batches and the whole queue (views.ts)",
        text: `select p.sku, p.version, ${batchesOf}, '[]'::json as allocations, ${waiting("true")}
          from products p where p.sku = any($1::text[])`,
        params: [[order.sku]],
      },
      allocationsOfOrder: {
        path: "allocation GET /allocations/:orderId (views.ts allocationsOf)",
        text: `select sku, batch_ref, qty from allocations where order_id = $1::text order by sku asc`,
        params: [order.order_id],
      },
    },
    warehouse: {
      dispatchesForUpdate: {
        path: "warehouse line events: a batch's instructions, locked (dispatch-repository.ts getManyForUpdate)",
        text: `select order_id, sku, batchref, qty, status, version from dispatch_instructions
          where order_id = any($1::text[])
            and (order_id, sku, batchref) in (select * from unnest($2::text[], $3::text[], $4::text[]))
          order by order_id asc, sku asc, batchref asc for update`,
        params: [
          recent.map((r) => r.order_id),
          recent.map((r) => r.order_id),
          recent.map((r) => r.sku),
          recent.map((r) => r.batchref),
        ],
      },
      dispatchesSave: {
        path: "warehouse line events: a batch's new instructions, version-guarded upsert (dispatch-repository.ts saveMany)",
        text: `insert into dispatch_instructions (order_id, sku, batchref, qty, status, version, created_at, updated_at)
          select t.order_id, t.sku, t.batchref, t.qty::int, t.status, t.version::bigint, now(), now()
          from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[])
            as t (order_id, sku, batchref, qty, status, version)
          on conflict (order_id, sku, batchref) do update
            set qty = excluded.qty, status = excluded.status, version = excluded.version, updated_at = now()
            where dispatch_instructions.version < excluded.version`,
        params: [
          recent.map(() => randomUUID()),
          recent.map((r) => r.sku),
          recent.map((r) => r.batchref),
          recent.map(() => "1"),
          recent.map(() => "pending"),
          texts(recent.map((r) => r.version)),
        ],
      },
      dispatchesOfOrder: {
        path: "warehouse GET /dispatches?orderId= (dispatch-repository.ts listByOrder)",
        text: `select order_id, sku, batchref, qty, status, version from dispatch_instructions
          where order_id = $1::text order by created_at asc, sku asc, batchref asc`,
        params: [order.order_id],
      },
      inboxInsert: inboxInsert("warehouse-allocation", "allocation.line_allocated.v1"),
      outboxPending: pending("warehouse"),
    },
  };

  const clients = { ordering, allocation, warehouse };
  const out = {};
  for (const [db, byKey] of Object.entries(paths)) {
    const sizes = await tableSizes(clients[db]);
    const big = (scans) =>
      scans
        .filter((s) => (sizes[s.relation] ?? 0) > BIG_TABLE_ROWS)
        .map((s) => ({ ...s, tableRows: sizes[s.relation] }));
    for (const [key, q] of Object.entries(byKey)) {
      const explained = (generic) =>
        explain(clients[db], q.text, q.params, { generic }).catch((err) => {
          throw new Error(`EXPLAIN of ${db}.${key}${generic ? " (generic)" : ""}: ${err.message}`, {
            cause: err,
          });
        });
      const custom = await explained(false);
      const generic = await explained(true);
      const plan = describePlan(custom.Plan);
      const genericPlan = describePlan(generic.Plan);
      out[`${db}.${key}`] = {
        db,
        path: q.path,
        query: q.text.replace(/\s+/g, " "),
        executionMs: custom["Execution Time"],
        rows: custom.Plan["Actual Rows"],
        summary: plan,
        genericSummary: genericPlan === plan ? undefined : genericPlan,
        genericExecutionMs: generic["Execution Time"],
        bigSeqScans: [
          ...big(seqScans(custom.Plan)),
          ...big(seqScans(generic.Plan)).map((s) => ({ ...s, generic: true })),
        ],
        plan: custom.Plan,
        genericPlan: genericPlan === plan ? undefined : generic.Plan,
      };
    }
  }
  return out;
}
