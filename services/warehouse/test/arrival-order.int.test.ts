import { type EventOf, lineAllocatedV1, lineDeallocatedV1 } from "@stockflow/contracts";
import { waitFor } from "@stockflow/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, startHarness } from "./harness.js";

// Every pair of events warehouse receives about one order line, on the bus in both orders
// (a redelivery after a replica died, or another allocation replica's relay, can bring the
// older one last): the instruction ends as the higher product version says.

let h: Harness;

beforeAll(async () => {
  h = await startHarness("warehouse_arrival");
});
afterAll(async () => {
  await h?.close();
});

type LineEvent =
  | { kind: "allocated"; event: EventOf<typeof lineAllocatedV1> }
  | { kind: "deallocated"; event: EventOf<typeof lineDeallocatedV1> };

const line = (orderId: string) => ({ orderId, sku: "ARRIVAL-LAMP", qty: 2, batchref: "batch-1" });
const allocated = (orderId: string, version: number): LineEvent => ({
  kind: "allocated",
  event: { ...line(orderId), version },
});
const deallocated = (
  orderId: string,
  version: number,
  reason: "order_cancelled" | "batch_quantity_changed",
): LineEvent => ({ kind: "deallocated", event: { ...line(orderId), reason, version } });

const pairs = [
  {
    name: "allocated, then deallocated by the order's cancellation",
    events: (o: string) => [allocated(o, 4), deallocated(o, 5, "order_cancelled")],
    status: "cancelled",
  },
  {
    name: "deallocated by a shrinking batch, then allocated to it again",
    events: (o: string) => [deallocated(o, 5, "batch_quantity_changed"), allocated(o, 7)],
    status: "pending",
  },
];

let orders = 0;

describe("a dispatch instruction", () => {
  it.each(
    pairs.flatMap((pair) => [
      { ...pair, order: "in order", reversed: false },
      { ...pair, order: "the older last", reversed: true },
    ]),
  )("ends as the newer event says: $name, delivered $order", async ({ events, status, reversed }) => {
    const orderId = `arrival-${++orders}`;
    const pair = events(orderId);
    for (const e of reversed ? [...pair].reverse() : pair) {
      if (e.kind === "allocated") await h.publishAllocation(lineAllocatedV1, e.event);
      else await h.publishAllocation(lineDeallocatedV1, e.event);
    }
    await waitFor(() => h.consumerCaughtUp(), { message: "the warehouse consumer to catch up" });
    const res = await h.service.app.inject({ method: "GET", url: `/dispatches?orderId=${orderId}` });
    expect(res.json()).toEqual([{ ...line(orderId), status }]);
  });
});
