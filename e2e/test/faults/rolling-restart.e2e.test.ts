import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assertInvariants } from "../../support/invariants.js";
import { type ServiceName, type Stack, startStack } from "../../support/stack.js";
import { retrying503, runStorefront, stockUp } from "../../support/storefront.js";

// Reliability scenario 10: a rolling restart. Two replicas of every service; while 8
// storefront clients place (and sometimes cancel) orders and staff report damage, delays and
// new batches, each service's replicas in turn are taken out of rotation, SIGTERMed (they
// drain and exit 0) and started again, the next one only once it answers /readyz (the three
// services roll side by side, as independent deployments do). Every accepted request
// reaches its final state, and no request fails other than with a retryable 503
// (which the clients retry).

const SKUS = ["RR-BED", "RR-CHAIR", "RR-TABLE", "RR-LAMP"];
const ORDERS = 200;
const ROLL: ServiceName[] = ["warehouse", "allocation", "ordering"];

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ label: "f_rolling", replicas: 2, readyTimeoutMs: 120_000 });
});

afterAll(async () => {
  await stack?.dispose();
});

describe("rolling restart", () => {
  it("restarts every replica in turn under load: nothing lost, no failure but a retried 503", async () => {
    await stockUp(stack, SKUS, { stock: 150, shipment: 100, eta: "2031-06-01" });

    let rolling = true;
    const exits: Record<string, number | null> = {};
    const staff = { retried503: 0, answers: [] as number[] };
    const roll = (async () => {
      try {
        // Each service rolls on its own, as independent deployments do: replica 0 of every
        // service, then replica 1; a service always keeps one replica in rotation.
        for (const replica of [0, 1]) {
          await Promise.all(
            ROLL.map(async (name) => {
              exits[`${name}#${replica}`] = await stack.stop(name, "SIGTERM", replica);
              await stack.start(name, replica);
            }),
          );
          // Staff keep working through the restarts: reports after each round.
          for (const sku of SKUS) {
            staff.answers.push(
              (await retrying503(staff, () => stack.api.damage(`${sku}-stock`, 5, "rolling"))).status,
              (
                await retrying503(staff, () =>
                  stack.api.registerBatch({ reference: `${sku}-roll-${replica}`, sku, qty: 10, eta: null }),
                )
              ).status,
            );
          }
        }
        staff.answers.push(
          (await retrying503(staff, () => stack.api.delay("RR-BED-ship", "2031-07-01"))).status,
        );
      } finally {
        rolling = false;
      }
    })();
    const load = await runStorefront(stack, {
      orders: ORDERS,
      keepGoing: () => rolling,
      clients: 8,
      // A steady trickle while the restarts take their time, not a flood to settle afterwards.
      paceMs: 100,
      orderOf: (i) => ({
        customerId: `rr-customer-${i % 30}`,
        lines: [
          { sku: SKUS[i % SKUS.length]!, qty: 1 + (i % 2) },
          ...(i % 3 === 0 ? [{ sku: SKUS[(i + 1) % SKUS.length]!, qty: 1 }] : []),
        ],
      }),
      cancels: (i) => i % 7 === 2,
    });
    await roll;

    expect(exits).toEqual(
      Object.fromEntries(ROLL.flatMap((name) => [0, 1].map((replica) => [`${name}#${replica}`, 0]))),
    );
    expect(load.failures).toEqual([]);
    expect(staff.answers).toEqual([...[0, 1].flatMap(() => SKUS.flatMap(() => [200, 201])), 200]);
    expect(load.accepted.length).toBeGreaterThanOrEqual(ORDERS);

    const settled = await assertInvariants(stack, { acceptedOrderIds: load.accepted, timeoutMs: 90_000 });
    for (const orderId of load.cancelled) expect(settled.orderStatus.get(orderId)).toBe("cancelled");
    expect([...settled.orderStatus.values()].filter((s) => s === "pending")).toEqual([]);
  }, 420_000);
});
