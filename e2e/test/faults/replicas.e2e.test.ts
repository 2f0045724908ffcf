import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openServiceDatabases } from "../../support/databases.js";
import { allocationEventsOutOfOrder, assertInvariants } from "../../support/invariants.js";
import { type Stack, startStack } from "../../support/stack.js";
import { runStorefront, stockUp } from "../../support/storefront.js";

// "Beyond one machine": two replicas of every service share their database and durables.
// 16 storefront clients place 400 orders (through the replicas in turn) and cancel every
// fifth one at once, so a placement and its cancellation are often handled by different
// allocation replicas at the same moment; staff report damage while orders flow, and one
// allocation replica is SIGKILLed and started again mid-load (what it held is redelivered,
// after ack_wait, behind newer messages). At rest the three services agree line by line, no
// batch is over-allocated, no backorder waits beside a batch that fits it, and no line of
// a cancelled order holds stock anywhere.

const SKUS = ["RP-SOFA", "RP-LAMP", "RP-DESK", "RP-RUG", "RP-SHELF", "RP-STOOL"];
const ORDERS = 400;

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ label: "f_replicas", replicas: 2, readyTimeoutMs: 120_000 });
});

afterAll(async () => {
  await stack?.dispose();
});

describe("replicas", () => {
  it("two replicas of every service, cancels, damage and a SIGKILLed allocation replica: the services agree at rest", async () => {
    await stockUp(stack, SKUS, { stock: 60, shipment: 40, eta: "2031-05-01" });

    let crash: Promise<void> | undefined;
    let damage: Promise<number[]> | undefined;
    const load = await runStorefront(stack, {
      orders: ORDERS,
      clients: 16,
      orderOf: (i) => ({
        customerId: `rp-customer-${i % 40}`,
        // ~165 units asked of each SKU (a fifth of it cancelled) against 100 in stock.
        lines: [
          { sku: SKUS[i % SKUS.length]!, qty: 1 + (Math.floor(i / SKUS.length) % 3) },
          ...(i % 3 === 0 ? [{ sku: SKUS[(i / 3 + 1) % SKUS.length]!, qty: 1 + ((i / 3) % 2) }] : []),
        ],
      }),
      cancels: (i) => i % 5 === 3,
      onAccepted: (accepted) => {
        if (accepted === 150) {
          crash = (async () => {
            await stack.kill("allocation", 1);
            await stack.start("allocation", 1);
          })();
        }
        if (accepted === 250) {
          damage = Promise.all(
            SKUS.slice(0, 3).map(async (sku) => (await stack.api.damage(`${sku}-stock`, 20, "water")).status),
          );
        }
      },
    });
    await crash;
    expect(await damage).toEqual([200, 200, 200]);
    expect(load.failures).toEqual([]);
    expect(load.accepted).toHaveLength(ORDERS);
    expect(load.cancelled.length).toBe(ORDERS / 5);

    // Late stock: the backorders of one SKU must be served by it.
    expect(
      (await stack.api.registerBatch({ reference: "RP-SOFA-late", sku: "RP-SOFA", qty: 40, eta: null }))
        .status,
    ).toBe(201);

    const settled = await assertInvariants(stack, { acceptedOrderIds: load.accepted, timeoutMs: 90_000 });
    for (const orderId of load.cancelled) expect(settled.orderStatus.get(orderId)).toBe("cancelled");
    // Two allocation replicas, one of them killed: still one SKU's events in the order they happened.
    expect(await allocationEventsOutOfOrder(stack)).toEqual([]);

    const dbs = openServiceDatabases(stack);
    try {
      const cancelled = load.cancelled;
      const [held] = await dbs.allocation`
        select (select count(*) from allocations where order_id = any(${cancelled}))::int as allocated,
               (select count(*) from backorders where order_id = any(${cancelled}))::int as waiting`;
      expect(held).toEqual({ allocated: 0, waiting: 0 });
      const [dispatches] = await dbs.warehouse`
        select count(*)::int as n from dispatch_instructions
        where status = 'pending' and order_id = any(${cancelled})`;
      expect(dispatches?.n).toBe(0);
      // The load did what it was meant to: stock ran out (backorders) and the late batch served some.
      const [answers] = await dbs.ordering`
        select count(*) filter (where status = 'backordered')::int as backordered,
               count(*) filter (where status = 'allocated' and batchref = 'RP-SOFA-late')::int as late
        from order_lines`;
      expect(answers?.backordered).toBeGreaterThan(0);
      expect(answers?.late).toBeGreaterThan(0);
    } finally {
      await dbs.close();
    }
  }, 240_000);
});
