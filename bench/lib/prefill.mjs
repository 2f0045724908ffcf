import postgres from "postgres";

// `--prefill <n>`: n historical single-line orders written straight into the three databases,
// as the services would have left them once every order was placed, allocated, reported back
// and turned into a dispatch instruction, and every event published. The run's own orders
// then meet tables of that size: the same throughput is expected, and no hot path may scan.
//
// Order i (0 <= i < n) is for SKU i % skus, qty 1, customer i % customers (10 orders each),
// allocated to the SKU's preferred batch (on hand) at product version base + i / skus + 1,
// which is what allocating them one after another from the seeded state would have done.

/** Rows per INSERT ... SELECT from generate_series: bounded memory, and few statements. */
const CHUNK = 100_000;
/** A history of 30 days before the prefill, spread evenly. */
const HISTORY_MS = 30 * 24 * 3600 * 1000;
const ORDERS_PER_CUSTOMER = 10;
/** The order count at which ordering writes customer_became_vip (domain/customer.ts). */
const VIP_ORDER_COUNT = 3;

const PLACED = "ordering.order_placed.v1";
const VIP = "ordering.customer_became_vip.v1";
const ALLOCATED = "allocation.line_allocated.v1";

/**
 * A uuid derived from `seed` (a SQL text expression), with version nibble 8 (RFC 9562's
 * custom uuid): distinct from every id the services make (randomUUID, version 4), and the
 * same in each database, so an outbox row and the inbox rows of its consumers agree.
 */
const uuidOf = (kind, seed) =>
  `overlay(md5('stockflow-prefill:${kind}:' || ${seed}) placing '8' from 13 for 1)::uuid`;

/** Every SQL expression of order i (`g.i`), given the shape of the history. */
function expressions({ skus, customers, startMs, stepMs }) {
  const s = `(g.i % ${skus})`;
  const at = (offsetMs, i = "g.i") =>
    `to_timestamp((${startMs} + ${i}::float8 * ${stepMs} + ${offsetMs}) / 1000.0)`;
  const iso = (offsetMs) => `to_char(${at(offsetMs)} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
  const e = {
    at,
    iso,
    orderId: `${uuidOf("order", "g.i")}::text`,
    placedId: uuidOf("placed", "g.i"),
    vipId: uuidOf("vip", "g.i"),
    allocatedId: uuidOf("allocated", "g.i"),
    customer: `'prefill-customer-' || (g.i % ${customers})`,
    // $1 skus, $2 the preferred batch of each, $3 each product's version before the prefill.
    sku: `($1::text[])[${s} + 1]`,
    batchref: `($2::text[])[${s} + 1]`,
    version: `(($3::int[])[${s} + 1] + g.i / ${skus} + 1)`,
  };
  // The headers outboxRow writes (CloudEvents, and the trace context current then).
  e.headers = (service, id, subject, offsetMs) => `jsonb_build_object(
      'ce-specversion', '1.0', 'ce-id', ${id}::text, 'ce-source', '/${service}', 'ce-type', '${subject}',
      'ce-time', ${iso(offsetMs)}, 'content-type', 'application/json',
      'traceparent', '00-' || md5('trace:' || g.i) || '-' || left(md5('span:${service}:' || g.i), 16) || '-01')`;
  return e;
}

/** The statements of one chunk [lo, hi) per database, in order (order_lines after orders). */
function chunkStatements(e, { lo, hi, customers }) {
  const g = `generate_series(${lo}, ${hi - 1}) as g(i)`;
  // customer_became_vip goes with the order that gives its customer their third order.
  const vipOrder = `g.i / ${customers} = ${VIP_ORDER_COUNT - 1}`;
  return {
    ordering: [
      `insert into orders (order_id, customer_id, cancelled_at, created_at, updated_at)
       select ${e.orderId}, ${e.customer}, null, ${e.at(0)}, ${e.at(20)} from ${g}`,
      `insert into order_lines (order_id, sku, position, qty, status, batchref, version)
       select ${e.orderId}, ${e.sku}, 0, 1, 'allocated', ${e.batchref}, ${e.version} from ${g}`,
      `insert into outbox (event_id, subject, payload, headers, created_at, published_at)
       select ${e.placedId}, '${PLACED}',
         jsonb_build_object('orderId', ${e.orderId}, 'customerId', ${e.customer},
           'lines', jsonb_build_array(jsonb_build_object('sku', ${e.sku}, 'qty', 1)), 'placedAt', ${e.iso(0)}),
         ${e.headers("ordering", e.placedId, PLACED, 0)}, ${e.at(0)}, ${e.at(2)}
       from ${g}
       union all
       select ${e.vipId}, '${VIP}',
         jsonb_build_object('customerId', ${e.customer}, 'orderCount', ${VIP_ORDER_COUNT}),
         ${e.headers("ordering", e.vipId, VIP, 0)}, ${e.at(0)}, ${e.at(2)}
       from ${g} where ${vipOrder}`,
      `insert into inbox (consumer, message_id, subject, processed_at)
       select 'ordering-allocation', ${e.allocatedId}::text, '${ALLOCATED}', ${e.at(10)} from ${g}`,
    ],
    allocation: [
      `insert into allocations (order_id, sku, batch_ref, qty, allocated_version)
       select ${e.orderId}, ${e.sku}, ${e.batchref}, 1, ${e.version} from ${g}`,
      `insert into inbox (consumer, message_id, subject, processed_at)
       select 'allocation-ordering', ${e.placedId}::text, '${PLACED}', ${e.at(5)} from ${g}`,
      `insert into outbox (event_id, subject, payload, headers, created_at, published_at)
       select ${e.allocatedId}, '${ALLOCATED}',
         jsonb_build_object('orderId', ${e.orderId}, 'sku', ${e.sku}, 'qty', 1,
           'batchref', ${e.batchref}, 'version', ${e.version}),
         ${e.headers("allocation", e.allocatedId, ALLOCATED, 5)}, ${e.at(5)}, ${e.at(7)}
       from ${g}`,
    ],
    warehouse: [
      `insert into dispatch_instructions (order_id, sku, batchref, qty, status, version, created_at, updated_at)
       select ${e.orderId}, ${e.sku}, ${e.batchref}, 1, 'pending', ${e.version}, ${e.at(10)}, ${e.at(10)} from ${g}`,
      `insert into inbox (consumer, message_id, subject, processed_at)
       select 'warehouse-allocation', ${e.allocatedId}::text, '${ALLOCATED}', ${e.at(10)} from ${g}`,
    ],
  };
}

/** Exact row counts of every table of the database's public schema. */
async function rowCounts(sql) {
  const tables = await sql`
    select tablename from pg_tables where schemaname = 'public' order by tablename`;
  const counts = {};
  for (const { tablename } of tables) {
    const [row] = await sql.unsafe(`select count(*)::int as n from "${tablename}"`);
    counts[tablename] = row.n;
  }
  return counts;
}

/**
 * Writes `n` historical orders into the three databases (urls by service name) after the
 * SKUs' batches were seeded, then VACUUM (ANALYZE) and CHECKPOINT. Answers what the result
 * JSON records, with `orderingOutboxWatermark`: the highest ordering outbox id so far (the
 * run's orders come after it).
 */
export async function prefill({ urls, skus, n, log }) {
  const started = performance.now();
  const clients = Object.fromEntries(
    Object.entries(urls).map(([name, url]) => [name, postgres(url, { max: 1, onnotice: () => {} })]),
  );
  try {
    // Where allocating would have put each SKU's lines, from the state the seeding left.
    const products = await clients.allocation`
      select p.sku, p.version,
        b.reference, b.qty - b.allocated as room
      from products p
      cross join lateral (
        select reference, qty, allocated from batches b where b.sku = p.sku
        order by b.eta asc nulls first, b.registered_version limit 1) b
      where p.sku = any(${skus}::text[])`;
    const bySku = new Map(products.map((p) => [p.sku, p]));
    const perSku = skus.map((_, s) => (s < n ? Math.floor((n - 1 - s) / skus.length) + 1 : 0));
    skus.forEach((sku, s) => {
      const p = bySku.get(sku);
      if (!p) throw new Error(`prefill: allocation does not know ${sku}`);
      if (p.room < perSku[s])
        throw new Error(`prefill: batch ${p.reference} has room for ${p.room} of ${perSku[s]} lines`);
    });
    const params = [
      skus,
      skus.map((sku) => bySku.get(sku).reference),
      skus.map((sku) => bySku.get(sku).version),
    ];
    const customers = Math.max(1, Math.ceil(n / ORDERS_PER_CUSTOMER));
    const stepMs = HISTORY_MS / n;
    const e = expressions({
      skus: skus.length,
      customers,
      startMs: Date.now() - HISTORY_MS - 60_000,
      stepMs,
    });

    const chunks = [];
    for (let lo = 0; lo < n; lo += CHUNK)
      chunks.push(chunkStatements(e, { lo, hi: Math.min(n, lo + CHUNK), customers }));
    const seconds = {};
    // A statement is bound to the parameters it names ($1..$k), no more.
    const run = (db, text) => {
      const used = Math.max(0, ...[...text.matchAll(/\$(\d+)/g)].map((m) => Number(m[1])));
      return clients[db].unsafe(text, params.slice(0, used));
    };
    const fill = async (db, after = []) => {
      const t = performance.now();
      for (const chunk of chunks) for (const text of chunk[db]) await run(db, text);
      for (const text of after) await run(db, text);
      seconds[db] = Math.round((performance.now() - t) / 100) / 10;
      log(`  prefill: ${db} written in ${seconds[db]} s`);
    };
    const counts = `unnest($1::text[], $2::text[], ${sqlIntArray(perSku)}) as t(sku, reference, lines)`;
    await Promise.all([
      fill("ordering", [
        // Each customer's count and the times of their first and last order.
        `insert into customers (customer_id, order_count, created_at, updated_at)
         select 'prefill-customer-' || g.i, (${n} - 1 - g.i) / ${customers} + 1,
           ${e.at(0)}, ${e.at(0, `(g.i + (${n} - 1 - g.i) / ${customers} * ${customers})`)}
         from generate_series(0, ${customers - 1}) as g(i)`,
      ]),
      fill("allocation", [
        // The per-batch totals and product versions the allocations imply (0001_per_batch_totals).
        `update batches b set allocated = b.allocated + t.lines from ${counts} where b.reference = t.reference`,
        `update products p set version = p.version + t.lines, updated_at = now() from ${counts} where p.sku = t.sku`,
      ]),
      fill("warehouse"),
    ]);
    const written = round1((performance.now() - started) / 1000);

    // A database this old would have been vacuumed (visibility map and hint bits set,
    // statistics current), but autovacuum may be off: it is on the shared test server.
    const t = performance.now();
    await Promise.all(Object.values(clients).map((sql) => sql.unsafe("vacuum (analyze)")));
    const vacuumS = round1((performance.now() - t) / 1000);
    // The gigabytes of WAL just written start a checkpoint that would otherwise spread its
    // writes over the first minutes of the run.
    const c = performance.now();
    await clients.ordering.unsafe("checkpoint");
    const checkpointS = round1((performance.now() - c) / 1000);
    log(`  prefill: vacuum (analyze) of the three databases in ${vacuumS} s, checkpoint in ${checkpointS} s`);

    const rows = {};
    for (const [db, sql] of Object.entries(clients)) rows[db] = await rowCounts(sql);
    const [{ watermark }] =
      await clients.ordering`select coalesce(max(id), 0)::bigint::text as watermark from outbox`;
    return {
      n,
      customers,
      seconds: round1((performance.now() - started) / 1000),
      writeSeconds: written,
      writeSecondsPerDatabase: seconds,
      vacuumAnalyzeSeconds: vacuumS,
      checkpointSeconds: checkpointS,
      rows,
      orderingOutboxWatermark: watermark,
    };
  } finally {
    await Promise.all(Object.values(clients).map((sql) => sql.end({ timeout: 5 })));
  }
}

const sqlIntArray = (xs) => `array[${xs.map((x) => Math.trunc(x)).join(",")}]::int[]`;
const round1 = (x) => Math.round(x * 10) / 10;
