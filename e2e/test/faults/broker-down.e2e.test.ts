import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, productHasBatches } from "../../support/eventually.js";
import { assertInvariants } from "../../support/invariants.js";
import { inParallel, placeOrders } from "../../support/load.js";
import { type ServiceName, type Stack, serviceNames, startStack } from "../../support/stack.js";

// Reliability scenario 2: nats-server goes away while orders are placed and damage is
// reported. Both requests only need each service's own database (the events wait in the
// outbox), so they are accepted; when nats-server is back on the same store every event
// arrives, and none takes effect twice.

const SKUS = ["BD-CHAIR", "BD-TABLE", "BD-SHELF"];
const BATCHES = SKUS.flatMap((sku) => [0, 1, 2].map((n) => ({ sku, reference: `${sku}-b${n}` })));

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ label: "f_broker_down" });
});

afterAll(async () => {
  await stack?.dispose();
});

const readiness = async (name: ServiceName) => {
  const res = await fetch(`${stack.urls[name]}/readyz`);
  return { status: res.status, body: (await res.json()) as { checks?: Record<string, boolean> } };
};

const orderOf = (i: number) => ({
  customerId: `bd-customer-${i % 30}`,
  lines: [{ sku: SKUS[i % SKUS.length]!, qty: 1 + (i % 4) }],
});

describe("broker down", () => {
  it("delivers every event of requests accepted while nats-server was down, once", async () => {
    await inParallel(BATCHES.length, 4, async (i) => {
      const { sku, reference } = BATCHES[i]!;
      const res = await stack.api.registerBatch({
        reference,
        sku,
        qty: 60,
        eta: i % 3 === 0 ? null : `2031-01-0${1 + (i % 3)}`,
      });
      expect(res.status).toBe(201);
    });
    for (const sku of SKUS)
      await productHasBatches(
        stack,
        sku,
        BATCHES.filter((b) => b.sku === sku).map((b) => b.reference),
      );

    const before = await placeOrders(stack, 80, orderOf, { concurrency: 8 });
    expect(before.refused).toEqual([]);
    await stack.nats.stop();
    for (const name of serviceNames) {
      await eventually(stack, `${name} to report NATS not ready`, async () => {
        const r = await readiness(name);
        return r.status === 503 && r.body.checks?.nats === false;
      });
    }
    const during = await placeOrders(stack, 80, (i) => orderOf(i + 80), { concurrency: 8 });
    expect(during.refused).toEqual([]);
    let damaged = 0;
    for (const { reference } of BATCHES) {
      const res = await stack.api.damage(reference, 7, "water damage while the broker was down");
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      damaged++;
    }
    expect(damaged).toBe(BATCHES.length);
    await stack.nats.start();
    for (const name of serviceNames) {
      await eventually(stack, `${name} ready again`, async () => (await readiness(name)).status === 200);
    }
    const after = await placeOrders(stack, 60, (i) => orderOf(i + 160), { concurrency: 8 });
    expect(after.refused).toEqual([]);

    const accepted = [...before.accepted, ...during.accepted, ...after.accepted];
    expect(accepted).toHaveLength(220);
    await assertInvariants(stack, { acceptedOrderIds: accepted });

    // Each damage report arrived exactly once: allocation's batch lost 7, not 14.
    for (const sku of SKUS) {
      const product = await stack.api.getProduct(sku);
      for (const batch of product.body.batches) expect(batch.qty, batch.reference).toBe(53);
    }
  });
});
