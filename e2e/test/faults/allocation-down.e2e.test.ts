import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { productHasBatches } from "../../support/eventually.js";
import { assertInvariants } from "../../support/invariants.js";
import { inParallel, placeOrders } from "../../support/load.js";
import { type Stack, startStack } from "../../support/stack.js";

// Reliability scenario 1: the storefront keeps taking orders while allocation is down, and
// allocation catches up on every one of them when it is back.

const SKUS = ["AD-SOFA", "AD-LAMP", "AD-DESK", "AD-RUG"];
const ORDERS = 200;

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ label: "f_alloc_down" });
});

afterAll(async () => {
  await stack?.dispose();
});

describe("allocation down", () => {
  it("keeps every order placed while allocation is stopped and allocates them once it is back", async () => {
    // Stock for about three quarters of the demand, so orders end allocated and backordered.
    await inParallel(SKUS.length, SKUS.length, async (i) => {
      const sku = SKUS[i]!;
      for (const [ref, qty, eta] of [
        [`${sku}-stock`, 120, null],
        [`${sku}-ship`, 100, "2031-06-01"],
      ] as const) {
        expect((await stack.api.registerBatch({ reference: ref, sku, qty, eta })).status).toBe(201);
      }
    });
    for (const sku of SKUS) await productHasBatches(stack, sku, [`${sku}-stock`, `${sku}-ship`]);

    expect(await stack.stop("allocation")).toBe(0);
    const load = await placeOrders(
      stack,
      ORDERS,
      (i) => ({
        customerId: `ad-customer-${i % 40}`,
        lines: [
          { sku: SKUS[i % SKUS.length]!, qty: 1 + (i % 5) },
          ...(i % 3 === 0 ? [{ sku: SKUS[(i + 1) % SKUS.length]!, qty: 2 }] : []),
        ],
      }),
      { concurrency: 8 },
    );
    expect(load.refused).toEqual([]);
    expect(load.accepted).toHaveLength(ORDERS);
    const sample = await stack.api.getOrder(load.accepted[0]!);
    expect(sample.body.status).toBe("pending");

    await stack.start("allocation");
    const settled = await assertInvariants(stack, { acceptedOrderIds: load.accepted });
    const statuses = new Set(settled.orderStatus.values());
    expect(statuses.has("allocated")).toBe(true);
    expect([...statuses].every((s) => ["allocated", "partially_allocated", "backordered"].includes(s))).toBe(
      true,
    );
  });
});
