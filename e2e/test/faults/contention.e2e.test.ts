import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { orderStatusIs, productHasBatches, productReaches } from "../../support/eventually.js";
import { assertInvariants } from "../../support/invariants.js";
import { inParallel, placeOrders } from "../../support/load.js";
import { type Stack, startStack } from "../../support/stack.js";

// Reliability scenario 6: many orders at once for the same SKU, whose stock covers only
// half of them. Allocation's optimistic version check makes concurrent writers to one
// product retry, so stock is never over-allocated; the rest wait as backorders and are
// served oldest first when a shipment arrives.

const SKUS = Array.from({ length: 10 }, (_, i) => `CT-STOOL-${i}`);
const PER_SKU = 20;
const QTY = 5;

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ label: "f_contention" });
});

afterAll(async () => {
  await stack?.dispose();
});

describe("contention", () => {
  it("never over-allocates under concurrent orders and serves backorders oldest first", async () => {
    await inParallel(SKUS.length, 5, async (i) => {
      const res = await stack.api.registerBatch({
        reference: `ct-stock-${i}`,
        sku: SKUS[i]!,
        qty: 10 * QTY,
        eta: null,
      });
      expect(res.status).toBe(201);
    });
    for (const [i, sku] of SKUS.entries()) await productHasBatches(stack, sku, [`ct-stock-${i}`]);

    // 20 orders per SKU, every one of the 200 in flight together.
    const load = await placeOrders(
      stack,
      SKUS.length * PER_SKU,
      (i) => ({ customerId: `ct-customer-${i}`, lines: [{ sku: SKUS[i % SKUS.length]!, qty: QTY }] }),
      { concurrency: SKUS.length * PER_SKU },
    );
    expect(load.refused).toEqual([]);
    const settled = await assertInvariants(stack, { acceptedOrderIds: load.accepted });
    const statuses = [...settled.orderStatus.values()];
    expect(statuses.filter((s) => s === "allocated")).toHaveLength(SKUS.length * 10);
    expect(statuses.filter((s) => s === "backordered")).toHaveLength(SKUS.length * 10);

    const waiting = new Map<string, string[]>();
    for (const sku of SKUS) {
      const product = await productReaches(
        stack,
        sku,
        "to hold ten backorders",
        (p) => p.backorders.length === 10,
      );
      expect(product.batches).toEqual([expect.objectContaining({ qty: 10 * QTY, available: 0 })]);
      waiting.set(
        sku,
        product.backorders.map((b) => b.orderId),
      );
    }

    // A shipment for six more of each: the six that waited longest get it, in that order.
    await inParallel(SKUS.length, 5, async (i) => {
      const res = await stack.api.registerBatch({
        reference: `ct-ship-${i}`,
        sku: SKUS[i]!,
        qty: 6 * QTY,
        eta: "2031-04-01",
      });
      expect(res.status).toBe(201);
    });
    for (const [i, sku] of SKUS.entries()) {
      const queue = waiting.get(sku)!;
      for (const orderId of queue.slice(0, 6)) {
        const order = await orderStatusIs(stack, orderId, "allocated");
        expect(order.lines[0]?.batchref).toBe(`ct-ship-${i}`);
      }
      const product = await productReaches(
        stack,
        sku,
        "to keep four backorders",
        (p) => p.backorders.length === 4,
      );
      expect(product.backorders.map((b) => b.orderId)).toEqual(queue.slice(6));
    }
    const final = await assertInvariants(stack, { acceptedOrderIds: load.accepted });
    expect([...final.orderStatus.values()].filter((s) => s === "backordered")).toHaveLength(SKUS.length * 4);
  });
});
