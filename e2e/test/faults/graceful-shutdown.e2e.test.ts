import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openServiceDatabases } from "../../support/databases.js";
import { eventually, productHasBatches } from "../../support/eventually.js";
import { assertInvariants } from "../../support/invariants.js";
import { inParallel } from "../../support/load.js";
import { type Stack, startStack } from "../../support/stack.js";

// Reliability scenario 8: SIGTERM during load. The storefront stops taking connections but
// answers every request it had started; allocation stops taking messages, finishes the ones
// in hand and flushes its outbox; both exit 0, and once they are back nothing accepted is lost.

const SKUS = ["GS-CHAIR", "GS-TABLE"];
const ORDERS = 240;

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ label: "f_graceful" });
});

afterAll(async () => {
  await stack?.dispose();
});

interface Outcome {
  startedAt: number;
  endedAt: number;
  status?: number;
  orderId?: string;
  error?: string;
}

describe("graceful shutdown", () => {
  it("answers in-flight requests, keeps every accepted order and exits 0 on SIGTERM", async () => {
    for (const [i, sku] of SKUS.entries()) {
      expect(
        (await stack.api.registerBatch({ reference: `gs-stock-${i}`, sku, qty: 400, eta: null })).status,
      ).toBe(201);
    }
    for (const [i, sku] of SKUS.entries()) await productHasBatches(stack, sku, [`gs-stock-${i}`]);

    // Steady storefront traffic, every request timed, until the target is reached.
    const outcomes: Outcome[] = [];
    const accepted = () => outcomes.filter((o) => o.status === 202).length;
    let stopped = false;
    const deadline = Date.now() + 60_000;
    const traffic = inParallel(16, 16, async (worker) => {
      let n = 0;
      while ((accepted() < ORDERS || !stopped) && Date.now() < deadline) {
        const startedAt = performance.now();
        try {
          const res = await stack.api.placeOrder({
            customerId: `gs-customer-${worker}`,
            lines: [{ sku: SKUS[n++ % SKUS.length]!, qty: 1 }],
          });
          outcomes.push({
            startedAt,
            endedAt: performance.now(),
            status: res.status,
            orderId: res.body.orderId,
          });
        } catch (err) {
          outcomes.push({
            startedAt,
            endedAt: performance.now(),
            error: String((err as Error).cause ?? err),
          });
          // Pacing while the storefront is away; not a wait for anything to settle.
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    });

    let signalledAt = 0;
    try {
      await eventually(stack, "traffic under way", async () => accepted() >= 60);
      signalledAt = performance.now();
      const [orderingExit, allocationExit] = await Promise.all([
        stack.stop("ordering"),
        stack.stop("allocation"),
      ]);
      expect(orderingExit).toBe(0);
      expect(allocationExit).toBe(0);
      // Orders placed after allocation went wait on ORDERING until it is back.
      await stack.start("ordering");
      await eventually(stack, "orders accepted again", async () =>
        outcomes.some((o) => o.status === 202 && o.startedAt > signalledAt),
      );
      await stack.start("allocation");
    } finally {
      stopped = true;
      await traffic;
    }

    // Requests under way when the signal went were answered 202, and so were those read
    // later from a connection already open (each answer then closed its connection). Later
    // ones found no listener (refused, or reset when sent on an idle connection the server
    // was closing): refusals a client retries, never a 202 that was then lost.
    const before = outcomes.filter((o) => o.startedAt < signalledAt);
    const inFlight = before.filter((o) => o.endedAt > signalledAt);
    expect(inFlight.filter((o) => o.status === 202).length).toBeGreaterThan(0);
    // Whether a request was in flight is the server's view, not the client's clock (a busy
    // client writes a request well after it "started"): every order the storefront took in
    // is one the client was answered 202 for, so no request the server read lost its answer.
    const answered = new Set(outcomes.flatMap((o) => (o.status === 202 && o.orderId ? [o.orderId] : [])));
    const dbs = openServiceDatabases(stack);
    try {
      const stored = await dbs.ordering<{ order_id: string }[]>`select order_id from orders`;
      expect(stored.filter((r) => !answered.has(r.order_id))).toEqual([]);
    } finally {
      await dbs.close();
    }
    expect(outcomes.filter((o) => o.status !== undefined && o.status !== 202 && o.status !== 503)).toEqual(
      [],
    );
    for (const o of outcomes.filter((x) => x.error)) {
      expect(o.error).toMatch(/ECONNREFUSED|ECONNRESET|other side closed|SocketError|fetch failed/);
    }

    const orderIds = outcomes.flatMap((o) => (o.status === 202 && o.orderId ? [o.orderId] : []));
    expect(orderIds.length).toBeGreaterThanOrEqual(ORDERS);
    await assertInvariants(stack, { acceptedOrderIds: orderIds });
  });
});
