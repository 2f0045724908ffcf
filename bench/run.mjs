// `pnpm bench`: starts the stack on loopback, drives it from a forked load generator
// (load/driver.mjs) and prints the figures of docs/system-contract.md ("Quality bars") and bench/README.md as a
// table and as JSON in bench/results/<timestamp>.json. See README.md.
import { fork } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { adminDatabaseUrl, createTestDatabase } from "@stockflow/testkit";
import postgres from "postgres";
import { parseArgs, planOf } from "./lib/args.mjs";
import { buildIfNeeded } from "./lib/build.mjs";
import { cpuPerOrder, cpuSnapshot, runQueueSnapshot } from "./lib/cpu.mjs";
import { hotPathPlans } from "./lib/plans.mjs";
import { prefill } from "./lib/prefill.mjs";
import { render } from "./lib/report.mjs";
import { startStack } from "./lib/stack.mjs";
import { round } from "./lib/stats.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "..");
const SKUS = Array.from({ length: 50 }, (_, i) => `BENCH-SKU-${String(i + 1).padStart(2, "0")}`);
/** The services' drizzle pools (ordering 4, allocation 8, warehouse 4): PostgreSQL's reference uses as many. */
const SERVICE_DB_CONNECTIONS = 16;

const t0 = Date.now();
const log = (msg) => console.log(`[bench ${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s] ${msg}`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitUntil(probe, timeoutMs, intervalMs = 200) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v) return v;
    if (Date.now() > deadline) return undefined;
    await sleep(intervalMs);
  }
}

/** The forked load generator, driven by request/answer messages. */
function startDriver() {
  const child = fork(join(here, "load", "driver.mjs"), [], {
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  let seq = 0;
  const waiting = new Map();
  child.on("message", ({ id, result, error }) => {
    const w = waiting.get(id);
    waiting.delete(id);
    if (error) w?.reject(new Error(`driver: ${error}`));
    else w?.resolve(result);
  });
  child.on("exit", (code) => {
    for (const w of waiting.values()) w.reject(new Error(`driver exited (${code})`));
    waiting.clear();
  });
  return {
    pid: child.pid,
    call: (cmd, args) =>
      new Promise((resolve, reject) => {
        const id = ++seq;
        waiting.set(id, { resolve, reject });
        child.send({ id, cmd, args });
      }),
    close: () => {
      if (child.connected) child.disconnect();
    },
  };
}

async function seed(stack) {
  const { warehouse, allocation } = stack.services;
  for (const sku of SKUS) {
    for (const [suffix, eta] of [
      ["onhand", null],
      ["ship", "2099-01-01"],
    ]) {
      const r = await fetch(`${warehouse.url}/batches`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${stack.staffToken}` },
        body: JSON.stringify({ reference: `${sku}-${suffix}`, sku, qty: 10_000_000, eta }),
      });
      if (r.status !== 201)
        throw new Error(`seeding ${sku}: POST /batches answered ${r.status} ${await r.text()}`);
    }
  }
  const seeded = await waitUntil(async () => {
    for (const sku of SKUS) {
      const r = await fetch(`${allocation.url}/products/${sku}`);
      if (r.status !== 200 || (await r.json()).batches.length !== 2) return false;
    }
    return true;
  }, 60_000);
  if (!seeded) throw new Error("allocation did not receive the seeded batches within 60 s");
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.help) {
    console.log(
      "usage: pnpm bench [-- --quick | --soak <s> | --no-build | --cpu-prof <service> | --steps 100,200 | --window <s> | --prefill <orders> | --latency <rate> [--runs <n>] | --tracing both|on|off | --services <checkout> | --no-storefront | --hops]",
    );
    return;
  }
  const plan = planOf(opts);
  const servicesRoot = opts.servicesRoot ? resolve(opts.servicesRoot) : root;
  if (opts.build) buildIfNeeded(servicesRoot, log);

  log(
    `starting nats-server, databases, the OTLP receiver and the three services (tracing ${opts.tracing === "off" ? "off" : "on"})`,
  );
  const stack = await startStack({
    root: servicesRoot,
    cpuProf: opts.cpuProf,
    log,
    tracing: opts.tracing !== "off",
  });
  const { services } = stack;
  const cleanups = [() => stack.dispose()];
  // Ctrl-C: the services get the signal too (same process group) and drain; drop the
  // databases and the nats-server store before leaving.
  process.once("SIGINT", async () => {
    log("interrupted: cleaning up");
    for (const c of cleanups.reverse()) await c().catch(() => {});
    process.exit(130);
  });
  const result = {
    startedAt: new Date(t0).toISOString(),
    machine: {
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model,
      node: process.version,
      loadavgAtStart: os.loadavg(),
    },
    options: opts,
    plan,
    skus: SKUS.length,
    memory: { services: {}, series: [] },
  };
  const memory = result.memory.services;
  const memorySnapshot = (key) => {
    for (const s of Object.values(services)) {
      memory[s.name] ??= {};
      memory[s.name][key] = round(s.memory().rssMb, 1);
    }
  };
  const memoryTimer = setInterval(() => {
    const point = { t: round((Date.now() - t0) / 1000, 1) };
    for (const s of Object.values(services)) point[s.name] = round(s.memory().rssMb, 1);
    result.memory.series.push(point);
  }, 1000);
  cleanups.push(async () => clearInterval(memoryTimer));

  const driver = startDriver();
  cleanups.push(async () => {
    await driver.call("close").catch(() => {});
    driver.close();
  });
  const orderingSql = postgres(stack.databases.ordering.url, { max: 1, onnotice: () => {} });
  const allocationSql = postgres(stack.databases.allocation.url, { max: 1, onnotice: () => {} });
  const warehouseSql = postgres(stack.databases.warehouse.url, { max: 1, onnotice: () => {} });
  cleanups.push(() =>
    Promise.all([orderingSql, allocationSql, warehouseSql].map((sql) => sql.end({ timeout: 5 }))),
  );
  const nc = await connect({ servers: stack.nats.url, name: "bench-orchestrator" });
  cleanups.push(() => nc.close());
  const jsm = await jetstreamManager(nc);
  const autovacuumIsOff = async (sql) =>
    (await sql`select current_setting('autovacuum') as v`)[0].v === "off";
  const adminSql = postgres(adminDatabaseUrl(), { max: 1, onnotice: () => {} });
  cleanups.push(() => adminSql.end({ timeout: 5 }));
  const dbNames = Object.fromEntries(Object.entries(stack.databases).map(([k, d]) => [d.name, k]));
  /** Commits per database (pg_stat_database; PostgreSQL 15 flushes these at least every second). */
  const commitsNow = async () => {
    const rows = await adminSql`
      select datname, xact_commit::bigint as c from pg_stat_database where datname = any(${Object.keys(dbNames)})`;
    return Object.fromEntries(rows.map((r) => [dbNames[r.datname], Number(r.c)]));
  };
  const commitsPerOrder = (before, after, orders) =>
    Object.fromEntries(
      Object.keys(after).map((k) => [k, round((after[k] - (before[k] ?? 0)) / Math.max(1, orders), 2)]),
    );
  const stackParts = () => ({
    pids: {
      ...Object.fromEntries(Object.values(services).map((s) => [s.name, s.pid])),
      driver: driver.pid,
      otlp: stack.otlp.pid,
    },
    natsPort: stack.nats.port,
    databases: Object.fromEntries(Object.entries(stack.databases).map(([k, d]) => [k, d.name])),
  });
  const cpuNow = () => cpuSnapshot(stackParts());
  const runQueueNow = () => runQueueSnapshot(stackParts());

  /**
   * Lines in ordering's database, and how many of them read `allocated` (orders have one
   * line each). With --prefill, only the run's orders: those whose order_placed outbox row
   * (written in the order's own statement) comes after the prefill's, a range of the outbox
   * key. In a bench run a line once allocated stays so (nothing is cancelled, no batch
   * shrinks), so each read starts after the last order up to which every line read allocated:
   * a poll costs what is still unverified, not what the run wrote so far. Read only while no
   * order is being placed: an outbox id not committed yet would be passed over.
   */
  const verified = { upTo: undefined, orders: 0, lines: 0, allocated: 0 };
  const orderingCounts = async () => {
    if (verified.upTo === undefined) {
      const [row] = await orderingSql`
        select count(*)::int as lines, count(*) filter (where status = 'allocated')::int as allocated
        from order_lines`;
      return row;
    }
    const rows = await orderingSql`
      select o.id::text as id, l.order_id is not null as has_line,
        coalesce(l.status = 'allocated', false) as allocated
      from outbox o left join order_lines l on l.order_id = o.payload->>'orderId'
      where o.id > ${verified.upTo}::bigint and o.subject = 'ordering.order_placed.v1'
      order by o.id`;
    let i = 0;
    for (; i < rows.length && rows[i].allocated; i++) {
      verified.upTo = rows[i].id;
      verified.orders++;
      verified.lines++;
      verified.allocated++;
    }
    const rest = rows.slice(i);
    return {
      orders: verified.orders + rest.length,
      lines: verified.lines + rest.filter((r) => r.has_line).length,
      allocated: verified.allocated + rest.filter((r) => r.allocated).length,
    };
  };
  const allAllocatedInOrdering = async (timeoutMs) => {
    const start = Date.now();
    const ok = await waitUntil(
      async () => {
        const c = await orderingCounts();
        return c.lines === c.allocated;
      },
      timeoutMs,
      50,
    );
    return { ok: Boolean(ok), ms: Date.now() - start, ...(await orderingCounts()) };
  };

  /**
   * --latency <rate>: only the latency phase at that rate, --runs times (each after a VACUUM):
   * a quick A/B of a change's latency, with the CPU it cost. No other figure, no JSON.
   */
  const latencyOnly = async () => {
    log("warm-up: 100 orders/s for 2 s");
    await driver.call("runRate", { rate: 100, seconds: 2, drainTimeoutS: 10 });
    const vacuum = (await autovacuumIsOff(orderingSql))
      ? () => Promise.all([orderingSql, allocationSql, warehouseSql].map((sql) => sql`vacuum (analyze)`))
      : async () => {};
    for (let run = 1; run <= opts.runs; run++) {
      await vacuum();
      if (opts.hops) {
        await stack.otlp.hops(); // forget the warm-up's and the last run's spans
        stack.otlp.timing(true);
      }
      const cpu = cpuNow();
      const runQueue = runQueueNow();
      const l = await driver.call("runRate", {
        rate: opts.latencyOnly,
        seconds: plan.latencyS,
        drainTimeoutS: plan.drainTimeoutS,
        storefrontShare: plan.storefrontShare,
      });
      const perOrder = cpuPerOrder(cpu, cpuNow(), l.accepted);
      const waited = cpuPerOrder(runQueue, runQueueNow(), l.accepted);
      log(
        `latency ${run}/${opts.runs} at ${opts.latencyOnly}/s: to bus p50/p95/p99 ${l.toBus.p50}/${l.toBus.p95}/${l.toBus.p99} ms (202 -> order_placed ${l.toPlaced.p50}/${l.toPlaced.p99}, then ${l.placedToBus.p50}/${l.placedToBus.p99}); storefront (POST sent -> ?wait= answers allocated) ${l.storefront.p50}/${l.storefront.p95}/${l.storefront.p99} (bus -> applied ${l.storefront.busToApplied.p50}/${l.storefront.busToApplied.p99}, applied -> answer ${l.storefront.appliedToAnswer.p50}/${l.storefront.appliedToAnswer.p99}); from POST sent ${l.sentToBus.p50}/${l.sentToBus.p99}; POST p50/p99 ${l.post?.p50}/${l.post?.p99}; CPU ms/order ${JSON.stringify(perOrder)}; run-queue wait ms/order ${JSON.stringify(waited)}`,
      );
      if (opts.hops) {
        await sleep(5500); // the SDK exports every 5 s
        stack.otlp.timing(false);
        const { lasted, gapAfterParentEnd } = await stack.otlp.hops();
        const lines = (t) =>
          Object.entries(t).map(([k, v]) => `    ${k}: n ${v.n} p50 ${v.p50} p99 ${v.p99} ms`);
        log(`spans of run ${run}, duration:\n${lines(lasted).join("\n")}`);
        log(`gap after the parent span ended (other process):\n${lines(gapAfterParentEnd).join("\n")}`);
      }
    }
  };

  try {
    memorySnapshot("atStart");
    await driver.call("init", {
      orderingUrl: services.ordering.url,
      natsUrl: stack.nats.url,
      skus: SKUS,
      connections: 64,
    });
    log("seeding 50 SKUs x 2 batches through warehouse POST /batches");
    await seed(stack);
    if (opts.prefill) {
      log(`prefill: ${opts.prefill} historical orders written into the three databases`);
      result.prefill = await prefill({
        urls: Object.fromEntries(Object.entries(stack.databases).map(([k, d]) => [k, d.url])),
        skus: SKUS,
        n: opts.prefill,
        log,
      });
      verified.upTo = result.prefill.orderingOutboxWatermark;
      log(
        `  prefill took ${result.prefill.seconds} s (writes ${result.prefill.writeSeconds} s, vacuum analyze ${result.prefill.vacuumAnalyzeSeconds} s, checkpoint ${result.prefill.checkpointSeconds} s)`,
      );
      for (const [db, tables] of Object.entries(result.prefill.rows)) {
        log(
          `  ${db}: ${Object.entries(tables)
            .map(([t, n]) => `${t} ${n}`)
            .join(", ")}`,
        );
      }
    }

    if (opts.latencyOnly) {
      await latencyOnly();
      return;
    }

    // 5. References first, on a quiet stack.
    log("references: raw JetStream publish rate and round trip");
    const jetstreamRef = await driver.call("refJetStream", {
      messages: plan.refJsMessages,
      inFlight: 100,
      size: 1024,
      roundTrips: 1000,
    });
    log(`  ${jetstreamRef.publishPerS} publishes/s; round trip p50 ${jetstreamRef.roundTripMs.p50} ms`);
    log(
      `references: PostgreSQL single-row insert transactions (${SERVICE_DB_CONNECTIONS} and 1 connections)`,
    );
    const pgRefDb = await createTestDatabase("bench_pgref");
    let postgresRef;
    let postgres1;
    try {
      postgresRef = await driver.call("refPostgres", {
        url: pgRefDb.url,
        connections: SERVICE_DB_CONNECTIONS,
        seconds: plan.refPgSeconds,
      });
      postgres1 = await driver.call("refPostgres", {
        url: pgRefDb.url,
        connections: 1,
        seconds: Math.min(3, plan.refPgSeconds),
      });
    } finally {
      await pgRefDb.drop();
    }
    log(`  ${postgresRef.txPerS} tx/s with ${SERVICE_DB_CONNECTIONS}; ${postgres1.txPerS} tx/s with 1`);
    result.references = { jetstream: jetstreamRef, postgres: postgresRef, postgres1 };

    log("warm-up: 100 orders/s for 2 s");
    await driver.call("runRate", { rate: 100, seconds: 2, drainTimeoutS: 10 });
    // The machine's PostgreSQL runs with autovacuum off, so nothing would ever give the
    // planner statistics on the services' tables, or clear their dead rows; a production
    // server's autovacuum would. Without statistics the planner guesses `= any($1)` matches a
    // third of a table and scans it; without vacuum every update leaves its dead row and index
    // entries behind (the outbox's `published_at`, line statuses, customer counts), and each
    // phase would pay for the ones before it (measured: PostgreSQL's CPU per POST /orders
    // 0.18 ms after one step and the latency run, 0.66-0.74 ms after two steps and the latency
    // run). So the bench runs VACUUM (ANALYZE) on the three databases before each phase
    // (the first step's included), outside its window.
    const noAutovacuum = await autovacuumIsOff(orderingSql);
    const vacuumBetweenPhases = noAutovacuum
      ? () => Promise.all([orderingSql, allocationSql, warehouseSql].map((sql) => sql`vacuum (analyze)`))
      : async () => {};
    if (noAutovacuum)
      log(
        "  autovacuum is off on this server: VACUUM (ANALYZE) of each service's database before each phase",
      );

    /**
     * 1 and 2 with the services as they run now (tracing on or off): the offered rate stepped
     * until a step no longer keeps up, then the latency at half the sustained rate, with every
     * order waited for as a storefront would (GET /orders/:id?wait=).
     */
    const measure = async (steps, label) => {
      const pass = { tracing: label, steps: [] };
      // Spans the receiver got for a phase, per order: the same figure at every rate means none
      // was dropped on the way. The SDK exports every 5 s (or per 512 spans): the count is read
      // 5.5 s after the phase's orders are all answered.
      const spansOf = async (phase, before) => {
        if (!before) return;
        await sleep(5500);
        const after = await stack.otlp.stats();
        const byService = Object.fromEntries(
          Object.entries(after.byService).map(([k, n]) => [k, n - (before.byService[k] ?? 0)]),
        );
        phase.spans = {
          received: after.spans - before.spans,
          perOrder: round((after.spans - before.spans) / Math.max(1, phase.accepted), 2),
          byService,
          rejectedRequests: after.rejected - before.rejected,
        };
      };
      const spanCount = () => (label === "on" ? stack.otlp.stats() : undefined);
      const runStep = async (rate) => {
        log(`step (tracing ${label}): ${rate} orders/s for ${plan.windowS} s`);
        await vacuumBetweenPhases();
        const cpuBefore = cpuNow();
        const commitsBefore = await commitsNow();
        const spansBefore = await spanCount();
        const s = await driver.call("runRate", {
          rate,
          seconds: plan.windowS,
          drainTimeoutS: plan.drainTimeoutS,
        });
        s.cpuMsPerOrder = cpuPerOrder(cpuBefore, cpuNow(), s.accepted);
        await sleep(1100);
        s.commitsPerOrder = commitsPerOrder(commitsBefore, await commitsNow(), s.accepted);
        const readBack = await allAllocatedInOrdering(Math.max(5000, plan.drainTimeoutS * 1000 - s.drainMs));
        const sample = await driver.call("checkSample", { n: 20 });
        await spansOf(s, spansBefore);
        const why = [];
        if (s.non202 || s.errors) why.push(`${s.non202 + s.errors} failed requests (${s.firstError})`);
        if (s.notOffered > 0.03 * s.offered) why.push(`${s.notOffered} not offered (in-flight cap)`);
        // "Backlog not growing": under one second of orders still unallocated when the window
        // closes, and over the window's second half it grew by less than 10% of the offered rate.
        if (s.backlogAtWindowEnd > Math.max(50, rate))
          why.push(`backlog ${s.backlogAtWindowEnd} at window end`);
        const mid = s.backlog[Math.floor(s.backlog.length / 2)];
        const growth = mid
          ? (s.backlogAtWindowEnd - (mid.placed - mid.allocated)) / Math.max(0.5, s.windowS - mid.t)
          : 0;
        s.backlogGrowthPerS = round(growth, 1);
        if (growth > 0.1 * rate) why.push(`backlog growing ${round(growth)}/s`);
        if (s.drainMs > 2000) why.push(`drain took ${s.drainMs} ms`);
        if (s.allocated < s.accepted)
          why.push(`${s.accepted - s.allocated} not allocated on the bus within ${plan.drainTimeoutS} s`);
        if (!readBack.ok)
          why.push(`ordering reads ${readBack.lines - readBack.allocated} lines not allocated`);
        if (sample.allocated < sample.checked)
          why.push(`GET sample ${sample.allocated}/${sample.checked} allocated`);
        const step = { ...s, readBack, getSample: sample, pass: why.length === 0, why: why.join("; ") };
        delete step.backlog;
        step.backlogSeries = s.backlog;
        pass.steps.push(step);
        log(
          `  accepted ${s.acceptedPerS}/s, backlog at end ${s.backlogAtWindowEnd} (max ${s.maxBacklog}), drained in ${s.drainMs} ms, ` +
            `to-bus p50/p99 ${s.toBus.p50}/${s.toBus.p99} ms (placed ${s.toPlaced.p50}/${s.toPlaced.p99}, then ${s.placedToBus.p50}/${s.placedToBus.p99})${s.spans ? `, ${s.spans.perOrder} spans/order exported` : ""} -> ${step.pass ? "sustained" : `not sustained: ${step.why}`}`,
        );
        if (!readBack.ok) {
          log("  letting the backlog drain before going on");
          await allAllocatedInOrdering(60_000);
        }
        return step;
      };
      let best;
      let firstFail;
      for (const rate of steps) {
        const step = await runStep(rate);
        if (!step.pass) {
          firstFail = step;
          break;
        }
        best = step;
      }
      // One step halfway between the last rate that kept up and the first that did not.
      if (!opts.quick && best && firstFail && firstFail.offeredRate - best.offeredRate > 100) {
        const mid = Math.round((best.offeredRate + firstFail.offeredRate) / 2 / 50) * 50;
        const step = await runStep(mid);
        if (step.pass) best = step;
      }
      pass.sustained = best
        ? { offeredRate: best.offeredRate, ordersPerS: best.acceptedPerS, allocatedPerS: best.allocatedPerS }
        : undefined;
      log(`sustained end-to-end (tracing ${label}): ${pass.sustained?.ordersPerS ?? "none"} orders/s`);

      // 2. Latency at half that rate.
      const halfRate = Math.max(10, Math.round((pass.sustained?.offeredRate ?? steps[0]) / 2));
      log(
        `latency (tracing ${label}): ${halfRate} orders/s for ${plan.latencyS} s, a storefront waiting for each order with GET /orders/:id?wait=`,
      );
      await vacuumBetweenPhases();
      memorySnapshot(`latencyStart:${label}`);
      const latencyCpu = cpuNow();
      const latencyRunQueue = runQueueNow();
      const latencyCommits = await commitsNow();
      const latencySpans = await spanCount();
      const latency = await driver.call("runRate", {
        rate: halfRate,
        seconds: plan.latencyS,
        drainTimeoutS: plan.drainTimeoutS,
        storefrontShare: plan.storefrontShare,
      });
      memorySnapshot(`latencyEnd:${label}`);
      latency.cpuMsPerOrder = cpuPerOrder(latencyCpu, cpuNow(), latency.accepted);
      latency.runQueueMsPerOrder = cpuPerOrder(latencyRunQueue, runQueueNow(), latency.accepted);
      await sleep(1100);
      latency.commitsPerOrder = commitsPerOrder(latencyCommits, await commitsNow(), latency.accepted);
      await spansOf(latency, latencySpans);
      delete latency.backlog;
      pass.latency = latency;
      pass.halfRate = halfRate;
      const f = (x) => `${x.p50}/${x.p95}/${x.p99}`;
      log(
        `  storefront (POST sent -> ?wait= answers allocated) ${f(latency.storefront)} ms (line_allocated on the bus -> ordering applies it ${f(latency.storefront.busToApplied)}, applied -> answer ${f(latency.storefront.appliedToAnswer)}); to bus ${f(latency.toBus)} ms (from the POST sent ${f(latency.sentToBus)}; 202 -> order_placed ${f(latency.toPlaced)}, order_placed -> line_allocated ${f(latency.placedToBus)})`,
      );
      await allAllocatedInOrdering(30_000);
      return pass;
    };

    // The headline pass as operators run (every span exported), then the same without tracing
    // (its steps from a quarter of the first pass's sustained rate), then tracing back on.
    const headline = await measure(plan.steps, opts.tracing === "off" ? "off" : "on");
    Object.assign(result, {
      steps: headline.steps,
      sustained: headline.sustained,
      latency: headline.latency,
    });
    result.tracing = opts.tracing === "off" ? "off" : "on";
    const halfRate = headline.halfRate;
    if (opts.tracing === "both") {
      log("restarting the three services with tracing off");
      await stack.restartAll({ tracing: false });
      const floor = (headline.sustained?.offeredRate ?? 0) / 4;
      const steps = plan.steps.filter((r, i) => r >= floor || plan.steps[i + 1] > floor);
      result.untraced = await measure(steps, "off");
      log("restarting the three services with tracing on");
      await stack.restartAll({ tracing: true });
    }

    if (plan.soakS > 0) {
      log(`soak: ${halfRate} orders/s for ${plan.soakS} s`);
      await vacuumBetweenPhases();
      memorySnapshot("soakStart");
      // Within the soak, once a minute (autovacuum's default naptime), as autovacuum would.
      const vacuuming = setInterval(() => void vacuumBetweenPhases().catch(() => {}), 60_000);
      const soak = await driver
        .call("runRate", { rate: halfRate, seconds: plan.soakS, drainTimeoutS: 30 })
        .finally(() => clearInterval(vacuuming));
      memorySnapshot("soakEnd");
      result.soak = { seconds: plan.soakS, ...soak };
      log(`  accepted ${soak.acceptedPerS}/s, backlog at end ${soak.backlogAtWindowEnd}`);
    }

    // 3. POST /orders alone: allocation stopped, so the figure is ordering's HTTP + transaction
    // + outbox relay (which keeps publishing to JetStream), nothing downstream.
    log("POST /orders alone: stopping allocation");
    await services.allocation.stop();
    await vacuumBetweenPhases();
    log(`autocannon: 32 connections, ${plan.postAloneS} s or ${plan.postAloneMax} requests`);
    const postCpu = cpuNow();
    result.postAlone = await driver.call("postAlone", {
      seconds: plan.postAloneS,
      amount: plan.postAloneMax,
      connections: 32,
    });
    result.postAlone.cpuMsPerRequest = cpuPerOrder(postCpu, cpuNow(), result.postAlone.requests);
    log(
      `  ${result.postAlone.requestsPerS} req/s, p99 ${result.postAlone.latencyMs.p99} ms, non-2xx ${result.postAlone.non2xx}`,
    );

    // 4. One consumer alone: the orders just placed wait in the ORDERING stream. Ordering and
    // warehouse are stopped too (after ordering's relay has published everything), so
    // allocation has the machine to itself while it works through them.
    log("consumer alone: waiting for ordering's outbox to empty, then stopping ordering and warehouse");
    await waitUntil(
      async () =>
        (await orderingSql`select count(*)::int as n from outbox where published_at is null`)[0].n === 0,
      30_000,
    );
    await Promise.all([services.ordering.stop(), services.warehouse.stop()]);
    await vacuumBetweenPhases();
    const consumerInfo = () => jsm.consumers.info("ORDERING", "allocation-ordering");
    const remaining = async () => {
      const i = await consumerInfo();
      return i.num_pending + i.num_ack_pending;
    };
    const events = await remaining();
    log(`  ${events} events waiting for allocation-ordering; starting allocation`);
    const consumerCpu = cpuNow();
    const consumerCommits = await commitsNow();
    await services.allocation.start();
    let first;
    let last;
    let left = events;
    const deadline = Date.now() + plan.consumerAloneMaxS * 1000;
    while (Date.now() < deadline) {
      left = await remaining();
      const t = performance.now();
      if (first === undefined && left < events) first = { t, left };
      if (first) last = { t, left };
      if (left === 0) break;
      await sleep(50);
    }
    const seconds = first && last && last.t > first.t ? (last.t - first.t) / 1000 : undefined;
    result.consumerAlone = {
      events,
      handled: events - left,
      drained: left === 0,
      seconds: round(seconds, 2),
      eventsPerS: seconds ? round((first.left - last.left) / seconds, 1) : undefined,
      note: "time from the first to the last ack seen by polling consumer info every 50 ms",
      // Includes allocation's start-up (module loading, migrations check): an upper bound.
      cpuMsPerEvent: cpuPerOrder(consumerCpu, cpuNow(), events - left),
      commitsPerEvent: commitsPerOrder(consumerCommits, await commitsNow(), events - left),
    };
    log(
      `  ${result.consumerAlone.eventsPerS} events/s (${result.consumerAlone.handled} of ${events} in ${result.consumerAlone.seconds} s)`,
    );

    log("restarting ordering and warehouse; waiting for every order to read allocated");
    await Promise.all([services.ordering.start(), services.warehouse.start()]);
    const final = await allAllocatedInOrdering(120_000);

    // Nothing lost, nothing twice. With --prefill: the run's orders and allocations, while the
    // batch checks cover every row (the prefill's totals must add up as much as the run's).
    const [alloc] = await allocationSql`
      select (select count(*)::int from allocations) as allocations,
             (select count(*)::int from (
                select b.reference from batches b join allocations a on a.batch_ref = b.reference
                group by b.reference, b.qty having sum(a.qty) > b.qty) x) as over_allocated,
             (select count(*)::int from batches b
                left join (select batch_ref, sum(qty)::int as qty from allocations group by batch_ref) t
                  on t.batch_ref = b.reference
                where b.allocated <> coalesce(t.qty, 0)) as totals_off`;
    const orders =
      verified.upTo === undefined
        ? (await orderingSql`select count(*)::int as n from orders`)[0].n
        : final.orders;
    const bus = await driver.call("busCounts");
    result.integrity = {
      orders,
      lines: final.lines,
      linesAllocated: final.allocated,
      allAllocated: final.ok,
      allocations: alloc.allocations - (opts.prefill ?? 0),
      overAllocatedBatches: alloc.over_allocated,
      batchTotalsOff: alloc.totals_off,
      duplicateLineAllocated: bus.duplicates,
      ...(opts.prefill ? { prefilledOrders: opts.prefill } : {}),
    };

    // Query plans of the hot paths, on the tables as this run left them.
    log("hot-path query plans (EXPLAIN ANALYZE, custom and generic)");
    result.plans = await hotPathPlans({
      ordering: orderingSql,
      allocation: allocationSql,
      warehouse: warehouseSql,
    });
    const scans = Object.entries(result.plans).filter(([, q]) => q.bigSeqScans.length > 0);
    log(
      scans.length === 0
        ? "  no sequential scan of a table over 10,000 rows on any hot path"
        : `  sequential scans of big tables: ${scans.map(([k, q]) => `${k} (${q.bigSeqScans.map((x) => x.relation).join(", ")})`).join("; ")}`,
    );
    const sustained = result.sustained?.ordersPerS;
    result.ratios = {
      e2eOverPgTx: sustained ? round(sustained / postgresRef.txPerS, 3) : undefined,
      p50OverJsRoundTrip: round(result.latency.toBus.p50 / jetstreamRef.roundTripMs.p50, 1),
    };
    for (const s of Object.values(services)) {
      memory[s.name].peak = round(s.memory().peakMb, 1);
    }
    result.machine.loadavgAtEnd = os.loadavg();
    result.durationS = round((Date.now() - t0) / 1000, 1);

    console.log(render(result));
    const dir = join(here, "results");
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `${new Date(t0).toISOString().replace(/[:.]/g, "-")}.json`);
    writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
    log(`results written to ${file}`);
  } catch (err) {
    for (const s of Object.values(services)) {
      if (s.logs()) console.error(`--- ${s.name} (last output) ---\n${s.logs().slice(-3000)}`);
    }
    throw err;
  } finally {
    for (const c of cleanups.reverse()) await c().catch(() => {});
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
