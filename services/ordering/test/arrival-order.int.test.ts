import { jetstreamManager } from "@nats-io/jetstream";
import { lineAllocatedV2, lineDeallocatedV1, outOfStockV1 } from "@stockflow/contracts";
import { waitFor } from "@stockflow/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { V2_DURABLE } from "../src/consumers/allocation-consumer.js";
import { publishEvent } from "./support/nats.js";
import { startOrdering } from "./support/service.js";

// Every pair of allocation's answers about one order line, and each answer against the
// order's own cancellation, on the bus in both orders (a redelivery after a replica died,
// or another allocation replica's relay, can bring the older one last): the line ends as
// the higher product version says, and a cancelled order stays cancelled.

let ordering: Awaited<ReturnType<typeof startOrdering>>;

beforeAll(async () => {
  ordering = await startOrdering("ordering_arrival");
});
afterAll(async () => {
  await ordering?.close();
});

const SKU = "ARRIVAL-DESK";

async function placeOrder(): Promise<string> {
  const res = await ordering.app.inject({
    method: "POST",
    url: "/orders",
    payload: { customerId: "arrival", lines: [{ sku: SKU, qty: 2 }] },
  });
  expect(res.statusCode).toBe(202);
  return res.json().orderId;
}

async function caughtUp(): Promise<void> {
  const jsm = await jetstreamManager(ordering.nc);
  await waitFor(
    async () => {
      const info = await jsm.consumers.info("ALLOCATION", V2_DURABLE);
      return info.num_pending === 0 && info.num_ack_pending === 0;
    },
    { message: "ordering's consumer to catch up" },
  );
}

type Step = (orderId: string) => Promise<unknown>;
const line = (orderId: string) => ({ orderId, sku: SKU, qty: 2 });
const allocated =
  (version: number): Step =>
  (o) =>
    publishEvent(ordering.nc, lineAllocatedV2, { ...line(o), batchref: "desk-1", eta: null, version });
const deallocated =
  (version: number): Step =>
  (o) =>
    publishEvent(ordering.nc, lineDeallocatedV1, {
      ...line(o),
      batchref: "desk-1",
      reason: "batch_quantity_changed",
      version,
    });
const outOfStock =
  (version: number): Step =>
  (o) =>
    publishEvent(ordering.nc, outOfStockV1, { ...line(o), version });
const cancel: Step = async (o) => {
  await caughtUp();
  const res = await ordering.app.inject({ method: "POST", url: `/orders/${o}/cancel`, payload: {} });
  expect(res.statusCode).toBe(202);
};

const pairs: { name: string; steps: [Step, Step]; line: { status: string; batchref: string | null } }[] = [
  {
    name: "allocated v2, deallocated v3",
    steps: [allocated(2), deallocated(3)],
    line: { status: "pending", batchref: null },
  },
  {
    name: "out of stock v2, allocated v3",
    steps: [outOfStock(2), allocated(3)],
    line: { status: "allocated", batchref: "desk-1" },
  },
  {
    name: "deallocated v3, out of stock v4",
    steps: [deallocated(3), outOfStock(4)],
    line: { status: "backordered", batchref: null },
  },
  {
    name: "allocated v2, the order cancelled",
    steps: [allocated(2), cancel],
    line: { status: "cancelled", batchref: null },
  },
];

describe("an order line", () => {
  it.each(
    pairs.flatMap((pair) => [
      { ...pair, order: "in order", reversed: false },
      { ...pair, order: "the older last", reversed: true },
    ]),
  )("ends as the newer news says: $name, delivered $order", async ({ steps, line: expected, reversed }) => {
    const orderId = await placeOrder();
    for (const step of reversed ? [...steps].reverse() : steps) await step(orderId);
    await caughtUp();
    const order = (await ordering.app.inject({ method: "GET", url: `/orders/${orderId}` })).json();
    expect(order.lines).toEqual([expect.objectContaining({ sku: SKU, qty: 2, ...expected })]);
  });
});
