import { type PrivatePostgresServer, startPostgresServer } from "@stockflow/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, productHasBatches } from "../../support/eventually.js";
import { assertInvariants } from "../../support/invariants.js";
import { inParallel } from "../../support/load.js";
import { type ServiceName, type Stack, serviceNames, startStack } from "../../support/stack.js";

// Reliability scenario 7: PostgreSQL (one private server holding the three services'
// databases) stops while orders flow, stays down longer than a consumer's whole retry
// ladder, and comes back. Meanwhile every service says it is not ready and the storefront
// is told 503 (never 500, never a 202 that is then lost); afterwards every service
// reconnects by itself and every accepted order and every in-flight event takes effect once.

const SKUS = ["DD-SOFA", "DD-LAMP", "DD-DESK", "DD-RUG"];
/** Several times the consumers' retry delays added up (the stack's 0.1 + 0.25 + 0.5 + 1 s). */
const OUTAGE_MS = 8_000;
/** Orders the flow must have had accepted before the outage, and in all. */
const BEFORE = 100;
const TOTAL = 220;
/** A bound on requests, whatever happens. */
const MAX_REQUESTS = 3_000;

let pg: PrivatePostgresServer;
let stack: Stack;

beforeAll(async () => {
  pg = await startPostgresServer();
  stack = await startStack({ label: "f_db_down", adminDatabaseUrl: pg.url });
});

afterAll(async () => {
  await stack?.dispose();
  await pg?.dispose();
});

const readiness = async (name: ServiceName) => {
  const res = await fetch(`${stack.urls[name]}/readyz`);
  return { status: res.status, body: (await res.json()) as { checks?: Record<string, boolean> } };
};

/**
 * The storefront's traffic: two clients, each placing an order every 25 ms until told to
 * stop. Every answer is kept, so the test can say what happened to each request.
 */
function startOrderFlow() {
  const accepted: string[] = [];
  const refused: { status: number; error: string }[] = [];
  const failed: string[] = [];
  let requests = 0;
  let stopping = false;
  const client = async (worker: number) => {
    while (!stopping && requests < MAX_REQUESTS) {
      const i = requests++;
      try {
        const res = await stack.api.placeOrder({
          customerId: `dd-customer-${i % 50}`,
          lines: [{ sku: SKUS[(i + worker) % SKUS.length]!, qty: 1 + (i % 3) }],
        });
        if (res.status === 202) accepted.push(res.body.orderId);
        else refused.push({ status: res.status, error: (res.body as { error?: string }).error ?? "" });
      } catch (err) {
        failed.push(String((err as Error).cause ?? err));
      }
      // Paced, so the outage is met by a steady trickle of orders rather than a flood of refusals.
      await new Promise((r) => setTimeout(r, 25));
    }
  };
  const done = Promise.all([client(0), client(1)]);
  return {
    accepted,
    refused,
    failed,
    async stop() {
      stopping = true;
      await done;
    },
  };
}

describe("database down", () => {
  it("reports not ready, refuses with 503, reconnects, and loses no accepted order or event", async () => {
    await inParallel(SKUS.length, SKUS.length, async (i) => {
      const sku = SKUS[i]!;
      for (const [ref, qty, eta] of [
        [`${sku}-stock`, 150, null],
        [`${sku}-ship`, 150, "2031-06-01"],
      ] as const) {
        expect((await stack.api.registerBatch({ reference: ref, sku, qty, eta })).status).toBe(201);
      }
    });
    for (const sku of SKUS) await productHasBatches(stack, sku, [`${sku}-stock`, `${sku}-ship`]);

    const flow = startOrderFlow();
    try {
      await eventually(stack, `${BEFORE} orders accepted`, async () => flow.accepted.length >= BEFORE);
      await pg.stop();
      const downSince = Date.now();
      const acceptedBeforeOutage = flow.accepted.length;

      for (const name of serviceNames) {
        await eventually(stack, `${name} to report the database not ready`, async () => {
          const r = await readiness(name);
          return r.status === 503 && r.body.checks?.database === false;
        });
      }
      // The fault lasts OUTAGE_MS while the orders keep coming; each is refused.
      await eventually(
        stack,
        "the outage to last its length while orders are refused",
        async () => Date.now() - downSince >= OUTAGE_MS && flow.refused.length > 0,
        OUTAGE_MS + 10_000,
      );
      expect(flow.accepted.length - acceptedBeforeOutage).toBeLessThanOrEqual(2);

      await pg.start();
      for (const name of serviceNames) {
        await eventually(stack, `${name} ready again`, async () => (await readiness(name)).status === 200);
      }
      await eventually(stack, `${TOTAL} orders accepted in all`, async () => flow.accepted.length >= TOTAL);
    } finally {
      await flow.stop();
    }

    expect(flow.failed).toEqual([]);
    expect(flow.refused.length).toBeGreaterThan(0);
    expect(new Set(flow.refused.map((r) => `${r.status} ${r.error}`))).toEqual(
      new Set(["503 service_unavailable"]),
    );
    const settled = await assertInvariants(stack, { acceptedOrderIds: flow.accepted });
    expect(settled.orderStatus.size).toBe(flow.accepted.length);
    expect([...settled.orderStatus.values()]).toContain("allocated");
  });
});
