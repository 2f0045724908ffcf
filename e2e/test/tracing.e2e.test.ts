import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BusEvent, eventsOf, type StreamName, traceIdOf } from "../support/bus.js";
import { dispatchesReach, eventually, orderReaches, productHasBatches } from "../support/eventually.js";
import { type Stack, startStack } from "../support/stack.js";
import {
  consumerSpan,
  postServerSpan,
  producerSpan,
  ReceivedTrace,
  SpanKind,
  type SpanQuery,
} from "../support/trace.js";

// The services export with their real OTLP/HTTP exporter (OTEL_* variables) to a receiver
// run by the test; nothing is collected in-process. The reallocation story's two requests
// (the storefront order, the staff damage report) must each come back as one trace.

const SKU = "TRACE-WARDROBE";
const STOCK = "trace-stock";
const SHIPMENT = "trace-shipment";

let stack: Stack;
let orderId: string;

beforeAll(async () => {
  stack = await startStack({ label: "tracing", tracing: true });
});

afterAll(async () => {
  await stack?.dispose();
});

/** The first event of `subject` whose payload has `key: value`, once it is on the stream. */
function eventOnBus(stream: StreamName, subject: string, key: string, value: string): Promise<BusEvent> {
  return eventually(stack, `${subject} with ${key}=${value} on ${stream}`, async () => {
    const [event] = await eventsOf(stack.natsConnection, stream, subject, (p) => p[key] === value);
    return event;
  });
}

/** Polls the receiver until the trace holds every span queried (batches arrive every 200 ms). */
async function traceWith(traceId: string, expected: SpanQuery[]): Promise<ReceivedTrace> {
  const otlp = stack.otlp;
  if (!otlp) throw new Error("the stack was started without an OTLP receiver");
  return eventually(stack, `trace ${traceId} with ${expected.length} expected spans`, async () => {
    const trace = ReceivedTrace.of(otlp.spans(), traceId);
    const missing = expected.filter((q) => !trace.find(q));
    if (missing.length === 0) return trace;
    throw new Error(
      `missing ${missing.map((q) => `${q.service}:${String(q.name)}`).join(", ")}; so far:\n${trace.describe()}`,
    );
  });
}

function expectMessagingAttributes(
  span: { name: string; attributes: Record<string, unknown> },
  subject: string,
) {
  expect(span.attributes, span.name).toMatchObject({
    "messaging.system": "nats",
    "messaging.destination.name": subject,
  });
  expect(span.attributes["messaging.message.id"], span.name).toEqual(expect.any(String));
}

const isOrdersPost = (s: { name: string; attributes: Record<string, unknown> }) =>
  s.name === "POST /orders" || (s.attributes["http.route"] === "/orders" && s.name.startsWith("POST"));
const isDamagePost = (s: { name: string; attributes: Record<string, unknown> }) =>
  s.name.startsWith("POST") && `${s.name} ${String(s.attributes["http.route"] ?? "")}`.includes("/damage");

describe("tracing across the three services", () => {
  it("makes the storefront's POST /orders one trace from the HTTP request to both allocation consumers", async () => {
    const staff = [
      await stack.api.registerBatch({ reference: STOCK, sku: SKU, qty: 10, eta: null }),
      await stack.api.registerBatch({ reference: SHIPMENT, sku: SKU, qty: 10, eta: "2031-06-01" }),
    ];
    expect(staff.map((r) => r.status)).toEqual([201, 201]);
    await productHasBatches(stack, SKU, [STOCK, SHIPMENT]);

    const placed = await stack.api.placeOrder({
      customerId: "trace-customer",
      lines: [{ sku: SKU, qty: 10 }],
    });
    expect(placed.status).toBe(202);
    orderId = placed.body.orderId;
    await orderReaches(stack, orderId, "to be allocated on the stock", (o) => o.lines[0]?.batchref === STOCK);
    await dispatchesReach(stack, orderId, "to have a pending dispatch", (ds) =>
      ds.some((d) => d.status === "pending"),
    );

    const orderPlaced = await eventOnBus("ORDERING", "ordering.order_placed.v1", "orderId", orderId);
    const lineAllocated = await eventOnBus("ALLOCATION", "allocation.line_allocated.v1", "orderId", orderId);
    const traceId = traceIdOf(orderPlaced.headers.traceparent);
    expect(traceId, "traceparent of order_placed").toBeDefined();
    expect(traceIdOf(lineAllocated.headers.traceparent), "line_allocated continues the same trace").toBe(
      traceId,
    );

    const q = {
      server: postServerSpan("ordering"),
      send: producerSpan("ordering", "ordering.order_placed.v1"),
      process: consumerSpan("allocation", "ordering.order_placed.v1"),
      sendAllocated: producerSpan("allocation", "allocation.line_allocated.v1"),
      orderingProcess: consumerSpan("ordering", "allocation.line_allocated.v1"),
      warehouseProcess: consumerSpan("warehouse", "allocation.line_allocated.v1"),
      sendAllocatedV2: producerSpan("allocation", "allocation.line_allocated.v2"),
      orderingProcessV2: consumerSpan("ordering", "allocation.line_allocated.v2"),
    };
    const trace = await traceWith(traceId as string, Object.values(q));

    const server = trace.findAll(q.server).find((s) => isOrdersPost(s));
    expect(server, `ordering's SERVER span for POST /orders in:\n${trace.describe()}`).toBeDefined();
    const send = trace.get(q.send);
    const process = trace.get(q.process);
    const sendAllocated = trace.get(q.sendAllocated);
    const orderingProcess = trace.get(q.orderingProcess);
    const warehouseProcess = trace.get(q.warehouseProcess);
    const tree = trace.describe();

    expect(server && trace.descendsFrom(send, server), `producer under the HTTP span:\n${tree}`).toBe(true);
    expect(process.parentSpanId, `consumer is the producer's child:\n${tree}`).toBe(send.spanId);
    expect(trace.descendsFrom(sendAllocated, process), `line_allocated sent while processing:\n${tree}`).toBe(
      true,
    );
    expect(orderingProcess.parentSpanId, tree).toBe(sendAllocated.spanId);
    expect(warehouseProcess.parentSpanId, tree).toBe(sendAllocated.spanId);
    // Ordering applies v2 (and acknowledges v1 unapplied); both copies leave under the same span.
    const orderingProcessV2 = trace.get(q.orderingProcessV2);
    expect(orderingProcessV2.parentSpanId, tree).toBe(trace.get(q.sendAllocatedV2).spanId);
    expect(trace.descendsFrom(trace.get(q.sendAllocatedV2), process), tree).toBe(true);
    expect(trace.services()).toEqual(["allocation", "ordering", "warehouse"]);

    expectMessagingAttributes(send, "ordering.order_placed.v1");
    expectMessagingAttributes(process, "ordering.order_placed.v1");
    expectMessagingAttributes(sendAllocated, "allocation.line_allocated.v1");
    expectMessagingAttributes(orderingProcess, "allocation.line_allocated.v1");
    expectMessagingAttributes(warehouseProcess, "allocation.line_allocated.v1");
    expect(send.attributes["messaging.operation.type"]).toBe("send");
    expect(process.attributes["messaging.operation.type"]).toBe("process");
    // The message id on the spans is the event's ce-id, so a span leads to the stored message.
    expect(send.attributes["messaging.message.id"]).toBe(orderPlaced.headers["ce-id"]);
    expect(process.attributes["messaging.message.id"]).toBe(orderPlaced.headers["ce-id"]);
    expect(orderingProcess.attributes["messaging.message.id"]).toBe(lineAllocated.headers["ce-id"]);
    expect(warehouseProcess.attributes["messaging.message.id"]).toBe(lineAllocated.headers["ce-id"]);
    for (const span of [process, orderingProcess, warehouseProcess, orderingProcessV2]) {
      expect(span.attributes["stockflow.order_id"], `${span.service} ${span.name}`).toBe(orderId);
    }

    // No message about this order started a trace of its own (so far, before the damage
    // report); the test's own GET requests are traces of their own, rightly.
    const elsewhere = stack.otlp
      ?.spans()
      .filter((s) => s.kind === SpanKind.PRODUCER || s.kind === SpanKind.CONSUMER)
      .filter((s) => s.attributes["stockflow.order_id"] === orderId && s.traceId !== traceId);
    expect(elsewhere).toEqual([]);
  });

  it("makes the staff damage report one trace through the reallocation to ordering and warehouse", async () => {
    expect(orderId, "the previous test placed the order").toBeDefined();
    const damaged = await stack.api.damage(STOCK, 6, "dropped from a pallet");
    expect(damaged.status).toBe(200);
    await orderReaches(stack, orderId, "to move to the shipment", (o) => o.lines[0]?.batchref === SHIPMENT);
    await dispatchesReach(stack, orderId, "to have the old dispatch cancelled", (ds) =>
      ds.some((d) => d.status === "cancelled"),
    );

    const changed = await eventOnBus("WAREHOUSE", "warehouse.batch_quantity_changed.v1", "reference", STOCK);
    const traceId = traceIdOf(changed.headers.traceparent);
    expect(traceId, "traceparent of batch_quantity_changed").toBeDefined();

    const q = {
      server: postServerSpan("warehouse"),
      send: producerSpan("warehouse", "warehouse.batch_quantity_changed.v1"),
      process: consumerSpan("allocation", "warehouse.batch_quantity_changed.v1"),
      sendDeallocated: producerSpan("allocation", "allocation.line_deallocated.v1"),
      sendAllocated: producerSpan("allocation", "allocation.line_allocated.v1"),
      orderingAllocated: consumerSpan("ordering", "allocation.line_allocated.v1"),
      warehouseAllocated: consumerSpan("warehouse", "allocation.line_allocated.v1"),
      warehouseDeallocated: consumerSpan("warehouse", "allocation.line_deallocated.v1"),
    };
    const trace = await traceWith(traceId as string, Object.values(q));
    const tree = trace.describe();

    const server = trace.findAll(q.server).find((s) => isDamagePost(s));
    expect(server, `warehouse's SERVER span for the damage report in:\n${tree}`).toBeDefined();
    const send = trace.get(q.send);
    const process = trace.get(q.process);
    const sendDeallocated = trace.get(q.sendDeallocated);
    const sendAllocated = trace.get(q.sendAllocated);

    expect(server && trace.descendsFrom(send, server), `producer under the HTTP span:\n${tree}`).toBe(true);
    expect(process.parentSpanId, `consumer is the producer's child:\n${tree}`).toBe(send.spanId);
    expect(trace.descendsFrom(sendDeallocated, process), tree).toBe(true);
    expect(trace.descendsFrom(sendAllocated, process), tree).toBe(true);
    expect(trace.get(q.orderingAllocated).parentSpanId, tree).toBe(sendAllocated.spanId);
    expect(trace.get(q.warehouseAllocated).parentSpanId, tree).toBe(sendAllocated.spanId);
    expect(trace.get(q.warehouseDeallocated).parentSpanId, tree).toBe(sendDeallocated.spanId);
    expect(trace.services()).toEqual(["allocation", "ordering", "warehouse"]);

    expectMessagingAttributes(send, "warehouse.batch_quantity_changed.v1");
    expectMessagingAttributes(process, "warehouse.batch_quantity_changed.v1");
    expectMessagingAttributes(sendDeallocated, "allocation.line_deallocated.v1");
    expectMessagingAttributes(sendAllocated, "allocation.line_allocated.v1");
    expect(send.attributes["messaging.message.id"]).toBe(changed.headers["ce-id"]);
    // The handler of a batch change is about a batch of a SKU: an operator finds it by either.
    expect([process.attributes["stockflow.batch_ref"], process.attributes["stockflow.sku"]]).toEqual(
      expect.arrayContaining([expect.stringMatching(new RegExp(`^(${STOCK}|${SKU})$`))]),
    );
    for (const span of [
      trace.get(q.orderingAllocated),
      trace.get(q.warehouseAllocated),
      trace.get(q.warehouseDeallocated),
    ]) {
      expect(span.attributes["stockflow.order_id"], `${span.service} ${span.name}`).toBe(orderId);
    }
  });
});
