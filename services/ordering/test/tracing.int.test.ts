import { SpanKind } from "@opentelemetry/api";
import { lineAllocatedV2 } from "@stockflow/contracts";
import { collectSpans, type SpanCollector, waitFor } from "@stockflow/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { publishEvent, streamMessages } from "./support/nats.js";
import { startOrdering } from "./support/service.js";

let spans: SpanCollector;
let ordering: Awaited<ReturnType<typeof startOrdering>>;

beforeAll(async () => {
  spans = collectSpans();
  ordering = await startOrdering("ordering_tracing");
});
afterAll(async () => {
  await ordering?.close();
  await spans?.shutdown();
});

describe("tracing", () => {
  it("makes the HTTP server span of POST /orders the parent of the order_placed send span", async () => {
    const res = await ordering.app.inject({
      method: "POST",
      url: "/orders",
      payload: { customerId: "traced", lines: [{ sku: "LAMP", qty: 1 }] },
    });
    expect(res.statusCode).toBe(202);
    const { orderId } = res.json();

    const send = await waitFor(() => spans.byName("send ordering.order_placed.v1")[0], {
      message: "the send span of order_placed",
    });
    const server = spans.spans().find((s) => s.kind === SpanKind.SERVER && s.name === "POST /orders");
    expect(server).toBeDefined();
    expect(server?.attributes["stockflow.order_id"]).toBe(orderId);
    expect(send.kind).toBe(SpanKind.PRODUCER);
    expect(send.spanContext().traceId).toBe(server?.spanContext().traceId);
    expect(send.parentSpanContext?.spanId).toBe(server?.spanContext().spanId);

    const [message] = (await streamMessages(ordering.nc, "ORDERING")).filter(
      (m) => m.payload.orderId === orderId,
    );
    expect(message?.headers.get("traceparent")).toContain(send.spanContext().spanId);
  });

  it("marks the span that processes an allocation event with the order id", async () => {
    const res = await ordering.app.inject({
      method: "POST",
      url: "/orders",
      payload: { customerId: "traced", lines: [{ sku: "RUG", qty: 1 }] },
    });
    const { orderId } = res.json();
    await publishEvent(ordering.nc, lineAllocatedV2, {
      orderId,
      sku: "RUG",
      qty: 1,
      batchref: "B-1",
      eta: null,
      version: 1,
    });
    const processed = await waitFor(
      () =>
        spans
          .byName("process allocation.line_allocated.v2")
          .find((s) => s.attributes["stockflow.order_id"] === orderId),
      { message: "the process span of line_allocated with the order id" },
    );
    expect(processed.kind).toBe(SpanKind.CONSUMER);
  });
});
