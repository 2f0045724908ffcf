import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Order } from "../support/api.js";
import { eventsOf } from "../support/bus.js";
import {
  dispatchesReach,
  eventually,
  orderReaches,
  orderStatusIs,
  productHasBatches,
  productReaches,
} from "../support/eventually.js";
import { type Stack, startStack } from "../support/stack.js";

// The three services as separate processes against a private nats-server and their own
// databases, driven only through their HTTP APIs and read back through the bus. One stack
// for the file; each flow uses its own SKUs, batch references and customers.

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const TRACEPARENT = /^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

type LineEvent = {
  orderId: string;
  sku: string;
  qty: number;
  batchref: string;
  version: number;
  reason?: string;
};

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ label: "flows" });
});

afterAll(async () => {
  await stack?.dispose();
});

async function placeOrder(customerId: string, lines: { sku: string; qty: number }[]): Promise<string> {
  const res = await stack.api.placeOrder({ customerId, lines });
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  expect(res.body.status).toBe("pending");
  expect(res.headers.get("location")).toBe(`/orders/${res.body.orderId}`);
  return res.body.orderId;
}

async function registerBatch(reference: string, sku: string, qty: number, eta: string | null): Promise<void> {
  const res = await stack.api.registerBatch({ reference, sku, qty, eta });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
}

const lineOf = (order: Order, sku: string) => {
  const line = order.lines.find((l) => l.sku === sku);
  if (!line) throw new Error(`order ${order.orderId} has no line for ${sku}`);
  return line;
};

describe("stockflow end to end", () => {
  it("reallocates an order to the shipment when its stock on hand is damaged", async () => {
    const sku = "REALLOC-SOFA";
    await registerBatch("realloc-stock", sku, 10, null);
    await registerBatch("realloc-shipment", sku, 10, "2031-03-01");
    await productHasBatches(stack, sku, ["realloc-stock", "realloc-shipment"]);

    const orderId = await placeOrder("realloc-customer", [{ sku, qty: 10 }]);
    const allocated = await orderStatusIs(stack, orderId, "allocated");
    expect(lineOf(allocated, sku)).toMatchObject({
      qty: 10,
      status: "allocated",
      batchref: "realloc-stock",
      eta: null,
    });
    await dispatchesReach(stack, orderId, "to have a pending dispatch from the stock", (ds) =>
      ds.some((d) => d.status === "pending" && d.batchref === "realloc-stock"),
    );

    const damaged = await stack.api.damage("realloc-stock", 6, "forklift accident");
    expect(damaged.status, JSON.stringify(damaged.body)).toBe(200);
    expect(damaged.body).toMatchObject({ reference: "realloc-stock", sku, qty: 4 });

    const reallocated = await orderReaches(
      stack,
      orderId,
      "to be allocated on the shipment",
      (o) => o.status === "allocated" && lineOf(o, sku).batchref === "realloc-shipment",
    );
    expect(lineOf(reallocated, sku)).toMatchObject({ qty: 10, status: "allocated", eta: "2031-03-01" });

    const dispatches = await dispatchesReach(stack, orderId, "to move to the shipment", (ds) =>
      ds.some((d) => d.status === "pending" && d.batchref === "realloc-shipment"),
    );
    expect(dispatches).toHaveLength(2);
    expect(dispatches).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ orderId, sku, qty: 10, batchref: "realloc-stock", status: "cancelled" }),
        expect.objectContaining({ orderId, sku, qty: 10, batchref: "realloc-shipment", status: "pending" }),
      ]),
    );
    expect(await stack.api.getAllocations(orderId)).toMatchObject({
      status: 200,
      body: [{ sku, batchref: "realloc-shipment", qty: 10 }],
    });

    const events = (await stack.readStream<LineEvent>("ALLOCATION")).filter(
      (e) => e.payload.orderId === orderId && e.subject.startsWith("allocation.line_"),
    );
    // Each allocation as v2 (with the eta) and, beside it, the deprecated v1.
    expect(events.map((e) => [e.subject, e.payload.batchref])).toEqual([
      ["allocation.line_allocated.v2", "realloc-stock"],
      ["allocation.line_allocated.v1", "realloc-stock"],
      ["allocation.line_deallocated.v1", "realloc-stock"],
      ["allocation.line_allocated.v2", "realloc-shipment"],
      ["allocation.line_allocated.v1", "realloc-shipment"],
    ]);
    const [first, , deallocated, again] = events.map((e) => e.payload) as LineEvent[];
    expect(deallocated).toMatchObject({ sku, qty: 10, reason: "batch_quantity_changed" });
    expect(deallocated!.version).toBeGreaterThan(first!.version);
    expect(again!.version).toBeGreaterThanOrEqual(deallocated!.version);
  });

  it("shows a delayed shipment's new eta on the order lines waiting for it, and nothing else moves", async () => {
    const sku = "DELAY-TABLE";
    await registerBatch("delay-shipment", sku, 10, "2031-03-01");
    await productHasBatches(stack, sku, ["delay-shipment"]);
    const orderId = await placeOrder("delay-customer", [{ sku, qty: 2 }]);
    const allocated = await orderStatusIs(stack, orderId, "allocated");
    expect(lineOf(allocated, sku)).toMatchObject({ batchref: "delay-shipment", eta: "2031-03-01" });
    await dispatchesReach(stack, orderId, "to have a pending dispatch", (ds) => ds.length === 1);

    expect((await stack.api.delay("delay-shipment", "2031-05-20")).status).toBe(200);
    const delayed = await orderReaches(
      stack,
      orderId,
      "to show the new eta",
      (o) => lineOf(o, sku).eta === "2031-05-20",
    );
    expect(lineOf(delayed, sku)).toMatchObject({ status: "allocated", batchref: "delay-shipment" });

    const events = (await stack.readStream<LineEvent>("ALLOCATION")).filter(
      (e) => e.payload.orderId === orderId,
    );
    // The delay is news in v2 only, at a new product version.
    expect(events.map((e) => [e.subject, (e.payload as { eta?: string }).eta])).toEqual([
      ["allocation.line_allocated.v2", "2031-03-01"],
      ["allocation.line_allocated.v1", undefined],
      ["allocation.line_allocated.v2", "2031-05-20"],
    ]);
    expect(events[2]!.payload.version).toBeGreaterThan(events[0]!.payload.version);
    expect((await stack.api.getDispatches(orderId)).body).toEqual([
      expect.objectContaining({ batchref: "delay-shipment", status: "pending" }),
    ]);
  });

  it("allocates a backordered order as soon as a batch arrives", async () => {
    const sku = "BACKORDER-LAMP";
    await registerBatch("backorder-small", sku, 2, null);
    await productHasBatches(stack, sku, ["backorder-small"]);

    const orderId = await placeOrder("backorder-customer", [{ sku, qty: 5 }]);
    const backordered = await orderStatusIs(stack, orderId, "backordered");
    expect(lineOf(backordered, sku)).toMatchObject({ qty: 5, status: "backordered", batchref: null });
    const waiting = await productReaches(stack, sku, "to hold the backorder", (p) => p.backorders.length > 0);
    expect(waiting.backorders).toEqual([expect.objectContaining({ orderId, qty: 5 })]);
    expect(await stack.api.getAllocations(orderId)).toMatchObject({
      status: 404,
      body: { error: "not_found" },
    });
    const outOfStock = await eventsOf(
      stack.natsConnection,
      "ALLOCATION",
      "allocation.out_of_stock.v1",
      (p) => {
        return p.orderId === orderId;
      },
    );
    expect(outOfStock.map((e) => e.payload)).toEqual([expect.objectContaining({ orderId, sku, qty: 5 })]);

    await registerBatch("backorder-arrival", sku, 20, "2031-05-01");
    const allocated = await orderStatusIs(stack, orderId, "allocated");
    expect(lineOf(allocated, sku)).toMatchObject({ status: "allocated", batchref: "backorder-arrival" });
    const product = await productReaches(
      stack,
      sku,
      "to have no backorder",
      (p) => p.backorders.length === 0,
    );
    expect(product.batches.find((b) => b.reference === "backorder-arrival")).toMatchObject({
      qty: 20,
      available: 15,
    });
  });

  it("partially allocates an order when only one of its lines has stock", async () => {
    const inStock = "PARTIAL-CHAIR";
    const unknown = "PARTIAL-NEVER-STOCKED";
    await registerBatch("partial-chairs", inStock, 8, null);
    await productHasBatches(stack, inStock, ["partial-chairs"]);

    const orderId = await placeOrder("partial-customer", [
      { sku: inStock, qty: 3 },
      { sku: unknown, qty: 2 },
    ]);
    const order = await orderStatusIs(stack, orderId, "partially_allocated");
    expect(lineOf(order, inStock)).toMatchObject({ qty: 3, status: "allocated", batchref: "partial-chairs" });
    expect(lineOf(order, unknown)).toMatchObject({ qty: 2, status: "backordered", batchref: null });
    expect(await stack.api.getAllocations(orderId)).toMatchObject({
      status: 200,
      body: [{ sku: inStock, batchref: "partial-chairs", qty: 3 }],
    });
  });

  it("gives a cancelled order's stock to the oldest backorder and cancels its dispatches", async () => {
    const sku = "CANCEL-TABLE";
    await registerBatch("cancel-stock", sku, 10, null);
    await productHasBatches(stack, sku, ["cancel-stock"]);

    const holder = await placeOrder("cancel-holder", [{ sku, qty: 10 }]);
    await orderStatusIs(stack, holder, "allocated");
    await dispatchesReach(stack, holder, "to have a pending dispatch", (ds) =>
      ds.some((d) => d.status === "pending"),
    );
    // One after the other, so which backorder is older is beyond doubt.
    const older = await placeOrder("cancel-older", [{ sku, qty: 6 }]);
    await orderStatusIs(stack, older, "backordered");
    const younger = await placeOrder("cancel-younger", [{ sku, qty: 6 }]);
    await orderStatusIs(stack, younger, "backordered");

    expect((await stack.api.cancelOrder(holder)).status).toBe(202);
    const cancelled = await orderStatusIs(stack, holder, "cancelled");
    expect(cancelled.lines.every((l) => l.status === "cancelled")).toBe(true);

    const promoted = await orderStatusIs(stack, older, "allocated");
    expect(lineOf(promoted, sku).batchref).toBe("cancel-stock");
    const product = await productReaches(stack, sku, "to keep only the younger backorder", (p) =>
      p.backorders.every((b) => b.orderId !== older),
    );
    expect(product.backorders).toEqual([expect.objectContaining({ orderId: younger, qty: 6 })]);
    expect(product.batches).toEqual([
      expect.objectContaining({ reference: "cancel-stock", qty: 10, available: 4 }),
    ]);
    expect((await stack.api.getOrder(younger)).body.status).toBe("backordered");

    await dispatchesReach(
      stack,
      holder,
      "to be cancelled",
      (ds) => ds.length > 0 && ds.every((d) => d.status === "cancelled"),
    );
    expect((await stack.api.getAllocations(holder)).status).toBe(404);
    const deallocated = await eventsOf(
      stack.natsConnection,
      "ALLOCATION",
      "allocation.line_deallocated.v1",
      (p) => {
        return p.orderId === holder;
      },
    );
    expect(deallocated.map((e) => e.payload)).toEqual([
      expect.objectContaining({
        orderId: holder,
        sku,
        qty: 10,
        batchref: "cancel-stock",
        reason: "order_cancelled",
      }),
    ]);

    const again = await stack.api.cancelOrder(holder);
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ error: "order_already_cancelled" });
    expect((await stack.api.cancelOrder("no-such-order")).status).toBe(404);
  });

  it("makes a customer VIP on the third order and says so on the bus once", async () => {
    const customerId = "vip-customer";
    const sku = "VIP-RUG";
    expect((await stack.api.getCustomer(customerId)).status).toBe(404);

    await placeOrder(customerId, [{ sku, qty: 1 }]);
    await placeOrder(customerId, [{ sku, qty: 1 }]);
    const regular = await eventually(stack, "two orders counted", async () => {
      const res = await stack.api.getCustomer(customerId);
      return res.status === 200 && res.body.orderCount === 2 && res.body;
    });
    expect(regular).toMatchObject({ customerId, orderCount: 2, vip: false });

    await placeOrder(customerId, [{ sku, qty: 1 }]);
    const vip = await eventually(stack, "three orders counted", async () => {
      const res = await stack.api.getCustomer(customerId);
      return res.status === 200 && res.body.orderCount === 3 && res.body;
    });
    expect(vip).toMatchObject({ customerId, orderCount: 3, vip: true });

    const becameVip = () =>
      eventsOf(
        stack.natsConnection,
        "ORDERING",
        "ordering.customer_became_vip.v1",
        (p) => p.customerId === customerId,
      );
    await eventually(stack, "customer_became_vip on the bus", async () => (await becameVip()).length > 0);

    // A fourth order keeps the customer VIP without a second announcement; its
    // order_placed on the stream shows the relay has passed that transaction.
    const fourth = await placeOrder(customerId, [{ sku, qty: 1 }]);
    await eventually(stack, "the fourth order_placed on the bus", async () => {
      const placed = await eventsOf(stack.natsConnection, "ORDERING", "ordering.order_placed.v1", (p) => {
        return p.orderId === fourth;
      });
      return placed.length > 0;
    });
    expect((await stack.api.getCustomer(customerId)).body).toMatchObject({
      customerId,
      orderCount: 4,
      vip: true,
    });
    expect((await becameVip()).map((e) => e.payload)).toEqual([
      expect.objectContaining({ customerId, orderCount: 3 }),
    ]);
  });

  it("publishes every event with the CloudEvents headers and the trace context", async () => {
    const sku = "HEADERS-SHELF";
    await registerBatch("headers-stock", sku, 5, null);
    const orderId = await placeOrder("headers-customer", [{ sku, qty: 1 }]);
    await orderStatusIs(stack, orderId, "allocated");

    const find = async (
      stream: "ORDERING" | "ALLOCATION" | "WAREHOUSE",
      subject: string,
      key: string,
      value: string,
    ) =>
      eventually(stack, `${subject} on ${stream}`, async () => {
        const [event] = await eventsOf(stack.natsConnection, stream, subject, (p) => p[key] === value);
        return event;
      });
    const published = [
      await find("ORDERING", "ordering.order_placed.v1", "orderId", orderId),
      await find("WAREHOUSE", "warehouse.batch_registered.v1", "reference", "headers-stock"),
      await find("ALLOCATION", "allocation.line_allocated.v1", "orderId", orderId),
    ];
    for (const event of published) {
      const source = `/${event.subject.split(".")[0]}`;
      const h = event.headers;
      expect(h, event.subject).toMatchObject({
        "ce-specversion": "1.0",
        "ce-source": source,
        "ce-type": event.subject,
        "content-type": "application/json",
      });
      expect(h["ce-id"]).toMatch(UUID);
      expect(h["nats-msg-id"]).toBe(h["ce-id"]);
      expect(Number.isNaN(Date.parse(h["ce-time"] ?? ""))).toBe(false);
      expect(h.traceparent).toMatch(TRACEPARENT);
    }
    // The body is the payload alone, no envelope.
    expect(published[0]?.payload).toMatchObject({
      orderId,
      customerId: "headers-customer",
      lines: [{ sku, qty: 1 }],
      placedAt: expect.any(String),
    });
  });

  it("allocates every order placed while the allocation service was stopped once it is back", async () => {
    const sku = "OUTAGE-BED";
    await registerBatch("outage-stock", sku, 100, null);
    await productHasBatches(stack, sku, ["outage-stock"]);

    expect(await stack.stop("allocation")).toBe(0);
    const orderIds: string[] = [];
    for (let i = 0; i < 10; i++) orderIds.push(await placeOrder(`outage-customer-${i}`, [{ sku, qty: 5 }]));
    for (const id of orderIds) expect((await stack.api.getOrder(id)).body.status).toBe("pending");

    await stack.start("allocation");
    for (const id of orderIds) {
      const order = await orderStatusIs(stack, id, "allocated");
      expect(lineOf(order, sku).batchref).toBe("outage-stock");
    }
    const product = await productReaches(
      stack,
      sku,
      "to have 50 allocated",
      (p) => p.batches[0]?.available === 50,
    );
    expect(product.batches).toEqual([
      expect.objectContaining({ reference: "outage-stock", qty: 100, available: 50 }),
    ]);
  });

  it("sends nothing to the dead letter queue along the way", async () => {
    // Runs last in the file: every flow above went through the three services' consumers.
    const dead = await stack.readStream("DLQ");
    expect(dead.map((e) => ({ subject: e.subject, headers: e.headers }))).toEqual([]);
  });
});
