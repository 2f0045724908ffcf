import { createOutbox, outbox } from "@stockflow/messaging";
import { asc } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createUnitOfWork } from "../src/adapters/db/unit-of-work.js";
import { lineAllocated, lineDeallocated, outOfStock } from "../src/app/allocation-reports.js";
import { cancelOrder } from "../src/app/cancel-order.js";
import { IdempotencyKeyReused, OrderNotFound } from "../src/app/errors.js";
import { placeOrder } from "../src/app/place-order.js";
import type { HandlerDeps } from "../src/app/ports.js";
import { getCustomer, getOrder } from "../src/app/queries.js";
import { OrderAlreadyCancelled } from "../src/domain/errors.js";
import { migratedDatabase, silentLogger } from "./support/database.js";

let database: Awaited<ReturnType<typeof migratedDatabase>>;
let uow: ReturnType<typeof createUnitOfWork>;
let ids = 0;
const deps: HandlerDeps = {
  clock: { now: () => new Date("2030-02-03T04:05:06.000Z") },
  newId: () => `order-${++ids}`,
};

beforeAll(async () => {
  database = await migratedDatabase("ordering_handlers");
  uow = createUnitOfWork({
    db: database.db,
    outbox: createOutbox({ service: "ordering" }),
    logger: silentLogger(),
  });
});
afterAll(async () => {
  await database?.close();
});

const outboxRows = async () =>
  (await database.db.select().from(outbox).orderBy(asc(outbox.id))).map((r) => ({
    subject: r.subject,
    payload: r.payload as Record<string, unknown>,
    headers: r.headers,
  }));
const eventsAbout = async (field: string, value: string) =>
  (await outboxRows()).filter((r) => r.payload[field] === value);
const place = (
  customerId: string,
  lines = [{ sku: "sofa", qty: 1 }],
  idempotency?: { key: string; requestHash: string },
) => placeOrder(deps, uow.intake, { customerId, lines, ...(idempotency ? { idempotency } : {}) });
const order = (orderId: string) => uow.read((r) => getOrder(r, orderId));

describe("placing an order", () => {
  it("stores it pending and enqueues order_placed in the same write", async () => {
    const { orderId, status } = await place("alice", [
      { sku: "sofa", qty: 2 },
      { sku: "lamp", qty: 1 },
    ]);
    expect(status).toBe("pending");
    expect(await order(orderId)).toMatchObject({
      orderId,
      customerId: "alice",
      status: "pending",
      lines: [
        { sku: "sofa", qty: 2, status: "pending", batchref: null },
        { sku: "lamp", qty: 1, status: "pending", batchref: null },
      ],
      createdAt: "2030-02-03T04:05:06.000Z",
    });
    const [event, ...more] = await eventsAbout("orderId", orderId);
    expect(more).toEqual([]);
    expect(event).toMatchObject({
      subject: "ordering.order_placed.v1",
      payload: {
        orderId,
        customerId: "alice",
        lines: [
          { sku: "sofa", qty: 2 },
          { sku: "lamp", qty: 1 },
        ],
        placedAt: "2030-02-03T04:05:06.000Z",
      },
      headers: { "ce-type": "ordering.order_placed.v1", "ce-source": "/ordering" },
    });
  });

  it("counts the order for the customer", async () => {
    await place("bob");
    expect(await uow.read((r) => getCustomer(r, "bob"))).toEqual({
      customerId: "bob",
      orderCount: 1,
      vip: false,
    });
  });

  it("makes the customer VIP at the third order, once", async () => {
    for (let i = 0; i < 5; i++) await place("carol");
    expect(await uow.read((r) => getCustomer(r, "carol"))).toEqual({
      customerId: "carol",
      orderCount: 5,
      vip: true,
    });
    const vip = (await eventsAbout("customerId", "carol")).filter(
      (e) => e.subject === "ordering.customer_became_vip.v1",
    );
    expect(vip.map((e) => e.payload)).toEqual([{ customerId: "carol", orderCount: 3 }]);
  });

  it("makes the customer VIP once when three orders arrive at the same time", async () => {
    await Promise.all([place("dave"), place("dave"), place("dave")]);
    const vip = (await eventsAbout("customerId", "dave")).filter(
      (e) => e.subject === "ordering.customer_became_vip.v1",
    );
    expect(vip.map((e) => e.payload)).toEqual([{ customerId: "dave", orderCount: 3 }]);
  });

  it("answers a repeated idempotency key with the first order and stores nothing more", async () => {
    const key = { key: "retry-1", requestHash: "hash-a" };
    const first = await place("erin", undefined, key);
    const again = await place("erin", undefined, key);
    expect(again).toEqual({ ...first, replayed: true });
    expect(await uow.read((r) => getCustomer(r, "erin"))).toMatchObject({ orderCount: 1 });
    expect((await eventsAbout("customerId", "erin")).length).toBe(1);
  });

  it("refuses an idempotency key reused with another body and stores nothing", async () => {
    await place("frank", undefined, { key: "retry-2", requestHash: "hash-a" });
    await expect(
      place("frank", [{ sku: "bed", qty: 1 }], { key: "retry-2", requestHash: "hash-b" }),
    ).rejects.toThrow(IdempotencyKeyReused);
    expect(await uow.read((r) => getCustomer(r, "frank"))).toMatchObject({ orderCount: 1 });
    expect((await eventsAbout("customerId", "frank")).length).toBe(1);
  });

  it("creates one order for concurrent requests with one idempotency key", async () => {
    const key = { key: "retry-3", requestHash: "hash-a" };
    const answers = await Promise.all([
      place("gina", undefined, key),
      place("gina", undefined, key),
      place("gina", undefined, key),
    ]);
    expect(new Set(answers.map((a) => a.orderId)).size).toBe(1);
    expect(answers.filter((a) => !a.replayed).length).toBe(1);
    expect(await uow.read((r) => getCustomer(r, "gina"))).toMatchObject({ orderCount: 1 });
  });
});

describe("cancelling an order", () => {
  it("cancels every line and enqueues order_cancelled", async () => {
    const { orderId } = await place("hana", [
      { sku: "sofa", qty: 1 },
      { sku: "rug", qty: 1 },
    ]);
    expect(await uow.run((tx) => cancelOrder(deps, tx, orderId))).toEqual({ orderId, status: "cancelled" });
    const view = await order(orderId);
    expect(view.status).toBe("cancelled");
    expect(view.lines.map((l) => l.status)).toEqual(["cancelled", "cancelled"]);
    const cancelled = (await eventsAbout("orderId", orderId)).filter(
      (e) => e.subject === "ordering.order_cancelled.v1",
    );
    expect(cancelled.map((e) => e.payload)).toEqual([{ orderId, cancelledAt: "2030-02-03T04:05:06.000Z" }]);
  });

  it("refuses a second cancellation without enqueueing anything", async () => {
    const { orderId } = await place("ivan");
    await uow.run((tx) => cancelOrder(deps, tx, orderId));
    await expect(uow.run((tx) => cancelOrder(deps, tx, orderId))).rejects.toThrow(OrderAlreadyCancelled);
    expect((await eventsAbout("orderId", orderId)).length).toBe(2);
  });

  it("refuses an unknown order", async () => {
    await expect(uow.run((tx) => cancelOrder(deps, tx, "nope"))).rejects.toThrow(OrderNotFound);
  });
});

describe("allocation's answers", () => {
  const allocated = (orderId: string, sku: string, version: number, batchref = "batch-1") => ({
    orderId,
    sku,
    qty: 1,
    batchref,
    version,
  });

  it("allocate, backorder and deallocate lines by product version", async () => {
    const { orderId } = await place("jan", [
      { sku: "sofa", qty: 1 },
      { sku: "rug", qty: 1 },
    ]);
    expect(await uow.run((tx) => lineAllocated(deps, tx, allocated(orderId, "sofa", 3)))).toBe("applied");
    expect(await uow.run((tx) => outOfStock(deps, tx, { orderId, sku: "rug", qty: 1, version: 1 }))).toBe(
      "applied",
    );
    expect((await order(orderId)).status).toBe("partially_allocated");

    const dealloc = {
      orderId,
      sku: "sofa",
      qty: 1,
      batchref: "batch-1",
      reason: "batch_quantity_changed" as const,
    };
    expect(await uow.run((tx) => lineDeallocated(deps, tx, { ...dealloc, version: 2 }))).toBe("stale");
    expect(await uow.run((tx) => lineDeallocated(deps, tx, { ...dealloc, version: 4 }))).toBe("applied");
    expect((await order(orderId)).status).toBe("pending");

    expect(await uow.run((tx) => lineAllocated(deps, tx, allocated(orderId, "sofa", 4, "batch-2")))).toBe(
      "applied",
    );
    expect(await uow.run((tx) => lineAllocated(deps, tx, allocated(orderId, "rug", 2, "batch-3")))).toBe(
      "applied",
    );
    expect(await order(orderId)).toMatchObject({
      status: "allocated",
      lines: [
        { sku: "sofa", status: "allocated", batchref: "batch-2" },
        { sku: "rug", status: "allocated", batchref: "batch-3" },
      ],
    });
  });

  it("leave a cancelled order cancelled", async () => {
    const { orderId } = await place("kim");
    await uow.run((tx) => cancelOrder(deps, tx, orderId));
    expect(await uow.run((tx) => lineAllocated(deps, tx, allocated(orderId, "sofa", 9)))).toBe(
      "order_cancelled",
    );
    expect((await order(orderId)).status).toBe("cancelled");
  });

  it("about an unknown order change nothing", async () => {
    expect(await uow.run((tx) => lineAllocated(deps, tx, allocated("ghost", "sofa", 1)))).toBe(
      "unknown_order",
    );
  });
});
