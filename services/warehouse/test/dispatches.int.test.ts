import { lineAllocatedV1, lineDeallocatedV1, outOfStockV1 } from "@stockflow/contracts";
import { collectSpans, waitFor } from "@stockflow/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, recorder, type Seen, startHarness } from "./harness.js";

const spans = collectSpans();
let h: Harness;
let allocationMessages: Seen[];

beforeAll(async () => {
  h = await startHarness("warehouse_dispatch");
  allocationMessages = recorder(h.observer, "allocation.>");
});
afterAll(async () => {
  await h?.close();
  await spans.shutdown();
});

const dispatches = async (orderId: string) =>
  (
    await h.service.app.inject({ method: "GET", url: `/dispatches?orderId=${encodeURIComponent(orderId)}` })
  ).json();
const caughtUp = () => waitFor(() => h.consumerCaughtUp(), { message: "the warehouse consumer to catch up" });

describe("dispatch instructions", () => {
  it("follow an allocation, a deallocation and a reallocation", async () => {
    const line = { orderId: "order-1", sku: "RED-CHAIR", qty: 3 };
    await h.publishAllocation(lineAllocatedV1, { ...line, batchref: "batch-a", version: 1 });
    await waitFor(async () => (await dispatches("order-1")).length === 1);
    expect(await dispatches("order-1")).toEqual([{ ...line, batchref: "batch-a", status: "pending" }]);

    // batch-a shrank: the line leaves it and goes to batch-b
    await h.publishAllocation(lineDeallocatedV1, {
      ...line,
      batchref: "batch-a",
      reason: "batch_quantity_changed",
      version: 2,
    });
    await h.publishAllocation(lineAllocatedV1, { ...line, batchref: "batch-b", version: 3 });
    await caughtUp();
    expect(await dispatches("order-1")).toEqual([
      { ...line, batchref: "batch-a", status: "cancelled" },
      { ...line, batchref: "batch-b", status: "pending" },
    ]);
  });

  it("are cancelled when the order is cancelled", async () => {
    const line = { orderId: "order-2", sku: "LAMP", qty: 1, batchref: "batch-c" };
    await h.publishAllocation(lineAllocatedV1, { ...line, version: 4 });
    await h.publishAllocation(lineDeallocatedV1, { ...line, reason: "order_cancelled", version: 5 });
    await caughtUp();
    expect(await dispatches("order-2")).toEqual([
      { orderId: "order-2", sku: "LAMP", qty: 1, batchref: "batch-c", status: "cancelled" },
    ]);
  });

  it("become pending again when a line is reallocated to a batch it had left", async () => {
    const line = { orderId: "order-3", sku: "SOFA", qty: 2 };
    await h.publishAllocation(lineAllocatedV1, { ...line, batchref: "batch-d", version: 1 });
    await h.publishAllocation(lineDeallocatedV1, {
      ...line,
      batchref: "batch-d",
      reason: "batch_quantity_changed",
      version: 2,
    });
    await h.publishAllocation(lineAllocatedV1, { ...line, batchref: "batch-e", version: 3 });
    await h.publishAllocation(lineDeallocatedV1, {
      ...line,
      batchref: "batch-e",
      reason: "batch_quantity_changed",
      version: 4,
    });
    await h.publishAllocation(lineAllocatedV1, { ...line, batchref: "batch-d", version: 5 });
    await caughtUp();
    expect(await dispatches("order-3")).toEqual([
      { ...line, batchref: "batch-d", status: "pending" },
      { ...line, batchref: "batch-e", status: "cancelled" },
    ]);
  });

  it("are not created twice when the same event is delivered again", async () => {
    const line = { orderId: "order-4", sku: "DESK", qty: 1, batchref: "batch-f", version: 7 };
    await h.publishAllocation(lineAllocatedV1, line);
    const original = await waitFor(() =>
      allocationMessages.find((m) => (m.body as { orderId: string }).orderId === "order-4"),
    );
    await caughtUp();

    // The same message again (same ce-id), past the broker's duplicate check, three times.
    for (let i = 0; i < 3; i++) {
      const headers = original.raw.headers!;
      headers.delete("Nats-Msg-Id");
      const ack = await h.observer.request(original.subject, original.raw.data, { headers, timeout: 2000 });
      expect(JSON.parse(ack.string())).toMatchObject({ stream: "ALLOCATION" });
      expect(JSON.parse(ack.string()).duplicate).toBeFalsy();
    }
    // And the same allocation as a new event (another ce-id): the version says it is old news.
    await h.publishAllocation(lineAllocatedV1, line);
    await caughtUp();
    expect(await dispatches("order-4")).toEqual([
      { orderId: "order-4", sku: "DESK", qty: 1, batchref: "batch-f", status: "pending" },
    ]);
  });

  it("ignore out_of_stock and go on with the next event", async () => {
    await h.publishAllocation(outOfStockV1, { orderId: "order-5", sku: "BED", qty: 1, version: 1 });
    await h.publishAllocation(lineAllocatedV1, {
      orderId: "order-5",
      sku: "BED",
      qty: 1,
      batchref: "batch-g",
      version: 2,
    });
    await caughtUp();
    expect(await dispatches("order-5")).toEqual([
      { orderId: "order-5", sku: "BED", qty: 1, batchref: "batch-g", status: "pending" },
    ]);
  });

  it("are handled in a span that carries the order, SKU and batch and continues allocation's trace", async () => {
    await h.publishAllocation(lineAllocatedV1, {
      orderId: "order-6",
      sku: "RUG",
      qty: 1,
      batchref: "batch-h",
      version: 1,
    });
    const span = await waitFor(() =>
      spans
        .byName("process allocation.line_allocated.v1")
        .find((s) => s.attributes["stockflow.order_id"] === "order-6"),
    );
    expect(span.attributes["stockflow.sku"]).toBe("RUG");
    expect(span.attributes["stockflow.batch_ref"]).toBe("batch-h");
    const sent = allocationMessages.find((m) => (m.body as { orderId: string }).orderId === "order-6");
    expect(sent?.headers.traceparent?.split("-")[1]).toBe(span.spanContext().traceId);
  });
});
