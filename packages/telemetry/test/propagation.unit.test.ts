import { headers } from "@nats-io/nats-core";
import { context, SpanKind, trace } from "@opentelemetry/api";
// telemetry has no devDependency on testkit yet (see README): import its source directly.
import { collectSpans } from "@stockflow/testkit";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import {
  annotateSpan,
  captureContext,
  extractFromHeaders,
  injectIntoHeaders,
  restoreContext,
  startConsumerSpan,
  startProducerSpan,
  tracer,
} from "../src/index.js";

const collector = collectSpans();
afterAll(() => collector.shutdown());
beforeEach(() => collector.reset());

describe("trace context across NATS headers", () => {
  it("makes the consumer span a child of the producer span in the same trace", () => {
    const subject = "ordering.order_placed.v1";
    const hdrs = headers();
    const producer = startProducerSpan(subject, "msg-1", context.active());
    injectIntoHeaders(trace.setSpan(context.active(), producer), hdrs);
    producer.end();

    const consumer = startConsumerSpan(subject, "msg-1", extractFromHeaders(hdrs), "allocation-ordering");
    consumer.end();

    const [sent] = collector.byName(`send ${subject}`);
    const [processed] = collector.byName(`process ${subject}`);
    expect(sent?.kind).toBe(SpanKind.PRODUCER);
    expect(processed?.kind).toBe(SpanKind.CONSUMER);
    expect(processed?.spanContext().traceId).toBe(sent?.spanContext().traceId);
    expect(processed?.parentSpanContext?.spanId).toBe(sent?.spanContext().spanId);
    expect(processed?.links.map((l) => l.context.spanId)).toEqual([sent?.spanContext().spanId]);
  });

  it("labels messaging spans with the OpenTelemetry messaging attributes", () => {
    const hdrs = headers();
    const producer = startProducerSpan("warehouse.batch_registered.v1", "m-2", context.active());
    injectIntoHeaders(trace.setSpan(context.active(), producer), hdrs);
    producer.end();
    startConsumerSpan(
      "warehouse.batch_registered.v1",
      "m-2",
      extractFromHeaders(hdrs),
      "allocation-warehouse",
    ).end();

    const [sent] = collector.byName("send warehouse.batch_registered.v1");
    const [processed] = collector.byName("process warehouse.batch_registered.v1");
    expect(sent?.attributes).toEqual({
      "messaging.system": "nats",
      "messaging.operation.name": "send",
      "messaging.operation.type": "send",
      "messaging.destination.name": "warehouse.batch_registered.v1",
      "messaging.message.id": "m-2",
    });
    expect(processed?.attributes).toEqual({
      "messaging.system": "nats",
      "messaging.operation.name": "process",
      "messaging.operation.type": "process",
      "messaging.destination.name": "warehouse.batch_registered.v1",
      "messaging.message.id": "m-2",
      "messaging.consumer.group.name": "allocation-warehouse",
    });
  });

  it("reads traceparent whatever the case of the header name", () => {
    const span = tracer().startSpan("origin");
    const carrier = captureContext(trace.setSpan(context.active(), span));
    span.end();
    const hdrs = headers();
    hdrs.set("TraceParent", carrier.traceparent ?? "");

    const extracted = trace.getSpanContext(extractFromHeaders(hdrs));
    expect(extracted?.traceId).toBe(span.spanContext().traceId);
    expect(extracted?.spanId).toBe(span.spanContext().spanId);
  });

  it("starts a new trace when a message carries no trace context", () => {
    const consumer = startConsumerSpan(
      "ordering.order_cancelled.v1",
      "m-3",
      extractFromHeaders(undefined),
      "x",
    );
    consumer.end();
    const [processed] = collector.byName("process ordering.order_cancelled.v1");
    expect(processed?.parentSpanContext).toBeUndefined();
    expect(processed?.links).toEqual([]);
  });
});

describe("captured trace context", () => {
  it("restores to the context it was captured from", () => {
    const span = tracer().startSpan("handler");
    const carrier = context.with(trace.setSpan(context.active(), span), () => captureContext());
    span.end();

    expect(carrier.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(JSON.parse(JSON.stringify(carrier))).toEqual(carrier);
    const restored = trace.getSpanContext(restoreContext(carrier));
    expect(restored?.traceId).toBe(span.spanContext().traceId);
    expect(restored?.spanId).toBe(span.spanContext().spanId);
  });

  it("is empty outside any span", () => {
    expect(captureContext()).toEqual({});
  });
});

describe("annotateSpan", () => {
  it("puts order id, sku and batch reference on the active span", () => {
    tracer().startActiveSpan("allocate", (span) => {
      annotateSpan({ orderId: "o-1", sku: "RED-CHAIR", batchRef: "b-1" });
      span.end();
    });
    const [span] = collector.byName("allocate");
    expect(span?.attributes).toMatchObject({
      "stockflow.order_id": "o-1",
      "stockflow.sku": "RED-CHAIR",
      "stockflow.batch_ref": "b-1",
    });
  });
});
