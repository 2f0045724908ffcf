// The load generator: a child process of run.mjs (forked with an IPC channel), so that the
// client's own CPU is not the orchestrator's. It answers one command at a time:
// { id, cmd, args } -> { id, result } | { id, error }.
import { randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import autocannon from "autocannon";
import postgres from "postgres";
import { Pool } from "undici";
import { round, summary } from "../lib/stats.mjs";

const LINE_ALLOCATED = "allocation.line_allocated.v1";
const ORDER_PLACED = "ordering.order_placed.v1";

const state = {
  /** orderId -> { tSent, t202, tBus?, tStorefront?, storefront } for the phase running now. */
  current: new Map(),
  /** line_allocated seen before its order's 202 arrived (orderId -> time). */
  early: new Map(),
  /** order_placed seen before its order's 202 arrived (orderId -> time). */
  earlyPlaced: new Map(),
  /** Every orderId this run has seen a line_allocated for, to count doubles. */
  seen: new Set(),
  duplicates: 0,
  busAllocated: 0,
  /** Orders of the current phase seen allocated. */
  currentAllocated: 0,
  customerPrefix: `bench-${randomBytes(3).toString("hex")}`,
  orderSeq: 0,
  /** orderIds answered 202 in the last phase, for sampling through GET. */
  lastOrderIds: [],
};

let cfg;
let nc;
let posts;
let gets;
let waits;

const now = () => performance.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function orderBody() {
  const n = state.orderSeq++;
  // 10,000 customers in turn: a customer row is rarely written twice at once, and some
  // become VIP (their third order) as a storefront's customers would.
  return JSON.stringify({
    customerId: `${state.customerPrefix}-${n % 10_000}`,
    lines: [{ sku: cfg.skus[n % cfg.skus.length], qty: 1 }],
  });
}

/** The orderId of an event on the bus, undefined when its body is not JSON. */
function orderIdOf(msg) {
  try {
    return msg.json().orderId;
  } catch {
    return undefined;
  }
}

function onLineAllocated(_err, msg) {
  const t = now();
  const orderId = orderIdOf(msg);
  if (orderId === undefined) return;
  if (state.seen.has(orderId)) {
    state.duplicates++;
    return;
  }
  state.seen.add(orderId);
  state.busAllocated++;
  const o = state.current.get(orderId);
  if (!o) {
    state.early.set(orderId, t);
    return;
  }
  o.tBus = t;
  state.currentAllocated++;
}

/** The first hop: ordering's relay published the order (202 -> order_placed on the bus). */
function onOrderPlaced(_err, msg) {
  const t = now();
  const orderId = orderIdOf(msg);
  if (orderId === undefined) return;
  const o = state.current.get(orderId);
  if (!o) state.earlyPlaced.set(orderId, t);
  else if (o.tPlaced === undefined) o.tPlaced = t;
}

/** Longest a storefront asks ordering to hold its GET (the contract's most). */
const WAIT_MS = 30_000;

/**
 * The storefront's view: right after the 202, GET /orders/:id?wait=30000, asked again while
 * it answers `pending` (its time was up), until it says anything else; the time of the
 * answer that says `allocated` is kept.
 */
async function waitAsStorefront(orderId, o) {
  const deadline = now() + 2 * WAIT_MS;
  while (now() < deadline) {
    try {
      const { statusCode, body } = await waits.request({
        method: "GET",
        path: `/orders/${orderId}?wait=${WAIT_MS}`,
        headersTimeout: WAIT_MS + 10_000,
        bodyTimeout: WAIT_MS + 10_000,
      });
      const view = await body.json();
      if (statusCode === 200 && view.status !== "pending") {
        if (view.status === "allocated") {
          o.tStorefront = now();
          // ordering's clock when its consumer applied the allocation (the order's updatedAt,
          // set in the handler before its commit), on this process's performance clock.
          o.tApplied = o.tSent + (Date.parse(view.updatedAt) - o.wallSent);
        }
        o.storefrontAnswer = view.status;
        return;
      }
      o.storefrontAgain = (o.storefrontAgain ?? 0) + 1;
    } catch {
      o.storefrontErrors = (o.storefrontErrors ?? 0) + 1;
      await sleep(10);
    }
  }
}

async function placeOrder(stats, storefrontShare) {
  const t = now();
  const wallSent = Date.now();
  try {
    const { statusCode, body } = await posts.request({
      method: "POST",
      path: "/orders",
      headers: { "content-type": "application/json" },
      body: orderBody(),
      headersTimeout: 15_000,
      bodyTimeout: 15_000,
    });
    const text = await body.text();
    const t202 = now();
    if (statusCode !== 202) {
      stats.non202++;
      if (stats.firstError === undefined) stats.firstError = `${statusCode} ${text.slice(0, 200)}`;
      return;
    }
    stats.postLatency.push(t202 - t);
    stats.ok++;
    const { orderId } = JSON.parse(text);
    const o = { tSent: t, wallSent, t202, storefront: Math.random() < storefrontShare };
    if (o.storefront) o.waiting = waitAsStorefront(orderId, o);
    const placed = state.earlyPlaced.get(orderId);
    if (placed !== undefined) {
      state.earlyPlaced.delete(orderId);
      o.tPlaced = placed;
    }
    const early = state.early.get(orderId);
    if (early !== undefined) {
      state.early.delete(orderId);
      o.tBus = early;
      state.currentAllocated++;
      stats.busBefore202++;
    }
    state.current.set(orderId, o);
  } catch (err) {
    stats.errors++;
    if (stats.firstError === undefined) stats.firstError = String(err?.message ?? err);
  }
}

/**
 * Offers `rate` orders/s for `seconds` (open loop: requests are sent on schedule, not when
 * the previous answer comes back), with at most `maxInFlight` outstanding; an order due
 * while that many are outstanding is not sent and counted as `notOffered`. Then waits
 * (at most `drainTimeoutS`) until every accepted order was seen allocated on the bus. A
 * `storefrontShare` of the orders are also waited for as a storefront would, through
 * GET /orders/:id?wait= right after their 202 (not counted in `maxInFlight`).
 */
async function runRate({ rate, seconds, drainTimeoutS, storefrontShare = 0, maxInFlight = 256 }) {
  const total = Math.max(1, Math.round(rate * seconds));
  state.current = new Map();
  state.early.clear();
  state.earlyPlaced.clear();
  const stats = { ok: 0, non202: 0, errors: 0, busBefore202: 0, postLatency: [], firstError: undefined };
  state.currentAllocated = 0;
  const allocatedNow = () => state.currentAllocated;
  let sent = 0;
  let notOffered = 0;
  let inFlight = 0;
  const pending = new Set();
  const backlog = [];
  const t0 = now();
  const sampler = setInterval(() => {
    backlog.push({ t: round((now() - t0) / 1000, 1), placed: stats.ok, allocated: allocatedNow() });
  }, 500);
  await new Promise((resolve) => {
    const timer = setInterval(() => {
      const due = Math.min(total, Math.floor(((now() - t0) / 1000) * rate));
      while (sent + notOffered < due) {
        if (inFlight >= maxInFlight) {
          notOffered++;
          continue;
        }
        sent++;
        inFlight++;
        const p = placeOrder(stats, storefrontShare).finally(() => {
          inFlight--;
          pending.delete(p);
        });
        pending.add(p);
      }
      if (sent + notOffered >= total) {
        clearInterval(timer);
        resolve();
      }
    }, 2);
  });
  await Promise.race([Promise.allSettled([...pending]), sleep(20_000)]);
  const windowS = (now() - t0) / 1000;
  clearInterval(sampler);
  const atWindowEnd = allocatedNow();

  const drainStart = now();
  const drainDeadline = drainStart + drainTimeoutS * 1000;
  while (allocatedNow() < stats.ok && now() < drainDeadline) await sleep(20);
  const allocated = allocatedNow();
  const drainMs = now() - drainStart;
  // The storefronts' waits end with the allocation (or after two of their 30 s waits).
  const storefronts = [...state.current.values()].filter((o) => o.storefront);
  await Promise.race([Promise.allSettled(storefronts.map((o) => o.waiting)), sleep(drainTimeoutS * 1000)]);

  const toBus = [];
  const storefront = [];
  const storefrontFrom202 = [];
  const busToApplied = [];
  const appliedToAnswer = [];
  const toPlaced = [];
  const placedToBus = [];
  const sentToBus = [];
  for (const o of state.current.values()) {
    if (o.tBus !== undefined) sentToBus.push(o.tBus - o.tSent);
    if (o.tPlaced !== undefined) toPlaced.push(Math.max(0, o.tPlaced - o.t202));
    if (o.tPlaced !== undefined && o.tBus !== undefined)
      placedToBus.push(Math.max(0, o.tBus - Math.max(o.tPlaced, o.t202)));
    if (o.tBus !== undefined) toBus.push(Math.max(0, o.tBus - o.t202));
    if (o.tStorefront !== undefined) {
      storefront.push(o.tStorefront - o.tSent);
      storefrontFrom202.push(o.tStorefront - o.t202);
      if (o.tBus !== undefined) busToApplied.push(o.tApplied - o.tBus);
      appliedToAnswer.push(o.tStorefront - o.tApplied);
    }
  }
  const count = (key) => storefronts.reduce((n, o) => n + (o[key] ?? 0), 0);
  state.lastOrderIds = [...state.current.keys()];
  return {
    offeredRate: rate,
    offered: total,
    sent,
    notOffered,
    accepted: stats.ok,
    non202: stats.non202,
    errors: stats.errors,
    firstError: stats.firstError,
    windowS: round(windowS, 2),
    acceptedPerS: round(stats.ok / windowS, 1),
    allocatedAtWindowEnd: atWindowEnd,
    backlogAtWindowEnd: stats.ok - atWindowEnd,
    maxBacklog: Math.max(0, ...backlog.map((b) => b.placed - b.allocated)),
    backlog,
    allocated,
    drainMs: round(drainMs),
    allocatedPerS: round(allocated / (windowS + drainMs / 1000), 1),
    busBefore202: stats.busBefore202,
    duplicatesSoFar: state.duplicates,
    post: summary(stats.postLatency),
    toBus: summary(toBus),
    toPlaced: summary(toPlaced),
    placedToBus: summary(placedToBus),
    sentToBus: summary(sentToBus),
    storefront: {
      ...summary(storefront),
      from202: summary(storefrontFrom202),
      // The last hops, by ordering's clock (ms precision): line_allocated on the bus -> ordering's
      // consumer applies it (before its commit); applied -> the held GET answers (commit,
      // NOTIFY, the waiter's read, HTTP).
      busToApplied: summary(busToApplied),
      appliedToAnswer: summary(appliedToAnswer),
      waited: storefronts.length,
      notAllocated: storefronts.length - storefront.length,
      askedAgain: count("storefrontAgain"),
      errors: count("storefrontErrors"),
    },
  };
}

/** GET /orders/:id for `n` orders of the last phase: how many read `allocated`. */
async function checkSample({ n }) {
  const ids = state.lastOrderIds;
  const picked = Array.from(
    { length: Math.min(n, ids.length) },
    () => ids[Math.floor(Math.random() * ids.length)],
  );
  let allocated = 0;
  const statuses = {};
  for (const id of picked) {
    const { body } = await gets.request({ method: "GET", path: `/orders/${id}` });
    const view = await body.json();
    statuses[view.status] = (statuses[view.status] ?? 0) + 1;
    if (view.status === "allocated") allocated++;
  }
  return { checked: picked.length, allocated, statuses };
}

/** POST /orders at saturation with autocannon: `connections` clients, `seconds` or `amount`, whichever first. */
async function postAlone({ seconds, amount, connections }) {
  let responses = 0;
  const instance = autocannon({
    url: cfg.orderingUrl,
    connections,
    duration: seconds,
    requests: [
      {
        method: "POST",
        path: "/orders",
        headers: { "content-type": "application/json" },
        setupRequest: (req) => ({ ...req, body: orderBody() }),
      },
    ],
  });
  instance.on("response", () => {
    if (++responses === amount) instance.stop();
  });
  const r = await instance;
  return {
    connections,
    durationS: round(r.duration, 2),
    requests: r.requests.total,
    requestsPerS: round(r.requests.total / r.duration, 1),
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    latencyMs: { p50: r.latency.p50, p90: r.latency.p90, p99: r.latency.p99, max: r.latency.max },
  };
}

/** Raw JetStream: `messages` publishes of `size` bytes with `inFlight` awaiting acks, then one-at-a-time round trips. */
async function refJetStream({ messages, inFlight, size, roundTrips }) {
  const jsm = await jetstreamManager(nc);
  const stream = "BENCH_REF";
  await jsm.streams.add({ name: stream, subjects: ["benchref.>"], storage: "file" });
  const js = jetstream(nc);
  const payload = randomBytes(size);
  try {
    let next = 0;
    const t0 = now();
    await Promise.all(
      Array.from({ length: inFlight }, async () => {
        while (next < messages) {
          next++;
          await js.publish("benchref.load", payload);
        }
      }),
    );
    const publishPerS = messages / ((now() - t0) / 1000);
    const rtt = [];
    for (let i = 0; i < roundTrips; i++) {
      const t = now();
      await js.publish("benchref.rtt", payload);
      rtt.push(now() - t);
    }
    return { messages, inFlight, size, publishPerS: round(publishPerS), roundTripMs: summary(rtt) };
  } finally {
    await jsm.streams.delete(stream).catch(() => {});
  }
}

/** PostgreSQL: single-row INSERT transactions (autocommit) from `connections` clients for `seconds`. */
async function refPostgres({ url, connections, seconds }) {
  const sql = postgres(url, { max: connections, onnotice: () => {} });
  try {
    await sql`create table if not exists bench_ref (id bigserial primary key, payload text not null, at timestamptz not null default now())`;
    const payload = "x".repeat(200);
    let count = 0;
    const latencies = [];
    const t0 = now();
    const end = t0 + seconds * 1000;
    await Promise.all(
      Array.from({ length: connections }, async () => {
        while (now() < end) {
          const t = now();
          await sql`insert into bench_ref (payload) values (${payload})`;
          latencies.push(now() - t);
          count++;
        }
      }),
    );
    return {
      connections,
      transactions: count,
      txPerS: round(count / ((now() - t0) / 1000)),
      latencyMs: summary(latencies),
    };
  } finally {
    await sql.end({ timeout: 5 });
  }
}

async function init(args) {
  cfg = args;
  nc = await connect({ servers: cfg.natsUrl, name: "bench-driver" });
  nc.subscribe(LINE_ALLOCATED, { callback: onLineAllocated });
  nc.subscribe(ORDER_PLACED, { callback: onOrderPlaced });
  posts = new Pool(cfg.orderingUrl, { connections: cfg.connections, pipelining: 1 });
  gets = new Pool(cfg.orderingUrl, { connections: 8, pipelining: 1 });
  // A held GET keeps its connection: as many as the posts' in-flight cap and more.
  waits = new Pool(cfg.orderingUrl, { connections: 1024, pipelining: 1 });
  return { ok: true };
}

async function close() {
  await posts?.close();
  await gets?.close();
  await waits?.close();
  await nc?.drain();
  return { ok: true };
}

const commands = {
  init,
  close,
  runRate,
  checkSample,
  postAlone,
  refJetStream,
  refPostgres,
  busCounts: async () => ({ busAllocated: state.busAllocated, duplicates: state.duplicates }),
};

process.on("message", async ({ id, cmd, args }) => {
  try {
    const result = await commands[cmd](args ?? {});
    process.send({ id, result });
  } catch (err) {
    process.send({ id, error: String(err?.stack ?? err) });
  }
});
process.on("disconnect", () => process.exit(0));
