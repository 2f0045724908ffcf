import { createUnitOfWork as createKitUnitOfWork, outbox } from "@stockflow/messaging";
import { asc } from "drizzle-orm";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createUnitOfWork } from "../src/adapters/db/unit-of-work.js";
import {
  allocatedReport,
  applyReports,
  deallocatedReport,
  lineAllocated,
  lineDeallocated,
  type OrderReport,
  outOfStock,
  outOfStockReport,
} from "../src/app/allocation-reports.js";
import { cancelOrder } from "../src/app/cancel-order.js";
import { IdempotencyKeyReused, OrderNotFound } from "../src/app/errors.js";
import { placeOrder } from "../src/app/place-order.js";
import type { HandlerDeps } from "../src/app/ports.js";
import { getCustomer, getOrder } from "../src/app/queries.js";
import { OrderAlreadyCancelled } from "../src/domain/errors.js";
import { migratedDatabase } from "./support/database.js";

let database: Awaited<ReturnType<typeof migratedDatabase>>;
let uow: ReturnType<typeof createUnitOfWork>;
let kitUnitOfWork: ReturnType<typeof createKitUnitOfWork>;
let ids = 0;
/** Each announcement of changed orders the unit of work made, in order. */
const announced: string[][] = [];
const deps: HandlerDeps = {
  clock: { now: () => new Date("2030-02-03T04:05:06.000Z") },
  newId: () => `order-${++ids}`,
};

beforeAll(async () => {
  database = await migratedDatabase("ordering_handlers");
  kitUnitOfWork = createKitUnitOfWork({ service: "ordering", db: database.db, handOff: () => {} });
  uow = createUnitOfWork({
    db: database.db,
    // No relay runs here: nothing publishes the outbox rows.
    unitOfWork: kitUnitOfWork,
    announce: (orderIds) => announced.push([...orderIds]),
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
        { sku: "sofa", qty: 2, status: "pending", batchref: null, eta: null },
        { sku: "lamp", qty: 1, status: "pending", batchref: null, eta: null },
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

describe("announcing changed orders (for the requests that wait on them)", () => {
  it("announces the orders a transaction changed once it committed, and nothing for one rolled back", async () => {
    const { orderId } = await place("jane");
    announced.length = 0;
    await uow.run((tx) => cancelOrder(deps, tx, orderId));
    expect(announced).toEqual([[orderId]]);

    const other = await place("kim");
    announced.length = 0;
    await expect(
      uow.run(async (tx) => {
        await cancelOrder(deps, tx, other.orderId);
        expect(announced).toEqual([]); // not before the commit
        throw new Error("roll back");
      }),
    ).rejects.toThrow("roll back");
    expect(announced).toEqual([]);
    expect((await order(other.orderId)).status).toBe("pending");
  });

  it("announces the orders of a consumer's transaction (the kit's) once it committed", async () => {
    const first = await place("lee");
    const second = await place("max");
    announced.length = 0;
    await kitUnitOfWork.transaction(async (tx) => {
      await applyReports(deps, uow.bind(tx), [
        allocatedReport({ orderId: first.orderId, sku: "sofa", qty: 1, batchref: "b-1", version: 1 }),
        outOfStockReport({ orderId: second.orderId, sku: "sofa", qty: 1, version: 1 }),
      ]);
      expect(announced).toEqual([]);
    });
    expect(announced.length).toBe(1);
    expect(announced.flat().sort()).toEqual([first.orderId, second.orderId].sort());
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

describe("allocation's answers applied together", () => {
  type Kind = "allocated" | "deallocated" | "out_of_stock";
  interface Answer {
    order: number;
    sku: string;
    kind: Kind;
    version: number;
    batchref: string;
  }
  const skus = ["sofa", "rug"];
  const eventOf = (orderId: string, { sku, version, batchref }: Answer) => ({
    orderId,
    sku,
    qty: 1,
    version,
    batchref,
    reason: "batch_quantity_changed" as const,
  });
  const reportFor = (orderId: string, a: Answer): OrderReport =>
    a.kind === "allocated"
      ? allocatedReport(eventOf(orderId, a))
      : a.kind === "deallocated"
        ? deallocatedReport(eventOf(orderId, a))
        : outOfStockReport(eventOf(orderId, a));
  /** The answer in a transaction of its own, as the consumer did before batches. */
  const applyAlone = (orderId: string, a: Answer) =>
    uow.run((tx) =>
      a.kind === "allocated"
        ? lineAllocated(deps, tx, eventOf(orderId, a))
        : a.kind === "deallocated"
          ? lineDeallocated(deps, tx, eventOf(orderId, a))
          : outOfStock(deps, tx, eventOf(orderId, a)),
    );
  /** Two copies of `count` orders (one cancelled when asked), each with the lines sofa and rug. */
  const twins = async (count: number, cancelled: number | undefined) => {
    const place2 = async () => {
      const ids: string[] = [];
      for (let i = 0; i < count; i++)
        ids.push(
          (
            await place(
              `twin-${i}`,
              skus.map((sku) => ({ sku, qty: 1 })),
            )
          ).orderId,
        );
      if (cancelled !== undefined) await uow.run((tx) => cancelOrder(deps, tx, ids[cancelled]!));
      return ids;
    };
    return { alone: await place2(), together: await place2() };
  };
  const view = async (orderId: string) => {
    const { orderId: _id, createdAt: _at, ...rest } = await order(orderId);
    return rest;
  };
  const ghost = (i: number) => `ghost-${i}`;
  const idOf = (ids: string[], i: number) => ids[i] ?? ghost(i);
  /** The answers one transaction each on `alone`, and as one batch on `together`. */
  const applyBothWays = async (alone: string[], together: string[], answers: Answer[]) => {
    const outcomesAlone = [];
    for (const a of answers) outcomesAlone.push(await applyAlone(idOf(alone, a.order), a));
    const outcomes = await uow.run((tx) =>
      applyReports(
        deps,
        tx,
        answers.map((a) => reportFor(idOf(together, a.order), a)),
      ),
    );
    return { outcomesAlone, outcomes };
  };

  it("leave several orders, each answered several times, as answered one at a time", async () => {
    const { alone, together } = await twins(2, undefined);
    const answers: Answer[] = [
      { order: 0, sku: "sofa", kind: "allocated", version: 1, batchref: "b1" },
      { order: 1, sku: "rug", kind: "out_of_stock", version: 1, batchref: "" },
      { order: 0, sku: "rug", kind: "allocated", version: 2, batchref: "b2" },
      { order: 0, sku: "sofa", kind: "deallocated", version: 3, batchref: "b1" },
      { order: 1, sku: "sofa", kind: "allocated", version: 1, batchref: "b3" },
      { order: 0, sku: "sofa", kind: "allocated", version: 3, batchref: "b4" },
      { order: 1, sku: "rug", kind: "allocated", version: 0, batchref: "b5" },
      { order: 2, sku: "sofa", kind: "allocated", version: 1, batchref: "b6" },
      { order: 1, sku: "lamp", kind: "allocated", version: 1, batchref: "b7" },
    ];
    const { outcomesAlone, outcomes } = await applyBothWays(alone, together, answers);

    expect(outcomes).toEqual(outcomesAlone);
    expect(outcomes).toEqual([
      "applied",
      "applied",
      "applied",
      "applied",
      "applied",
      "applied",
      "stale",
      "unknown_order",
      "unknown_line",
    ]);
    for (const i of [0, 1]) expect(await view(together[i]!)).toEqual(await view(alone[i]!));
    expect(await order(together[0]!)).toMatchObject({
      status: "allocated",
      lines: [
        { sku: "sofa", status: "allocated", batchref: "b4" },
        { sku: "rug", status: "allocated", batchref: "b2" },
      ],
    });
    expect((await order(together[1]!)).status).toBe("partially_allocated");
  });

  it("leave the same state and outcomes as one at a time, whatever the answers", async () => {
    const answer = fc.record({
      order: fc.integer({ min: 0, max: 3 }),
      sku: fc.constantFrom("sofa", "rug", "sofa", "rug", "lamp"),
      kind: fc.constantFrom<Kind>("allocated", "deallocated", "out_of_stock"),
      version: fc.integer({ min: 0, max: 4 }),
      batchref: fc.constantFrom("b1", "b2"),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(answer, { minLength: 1, maxLength: 12 }),
        fc.option(fc.integer({ min: 0, max: 2 }), { nil: undefined }),
        async (answers, cancelled) => {
          const { alone, together } = await twins(3, cancelled);
          const { outcomesAlone, outcomes } = await applyBothWays(alone, together, answers);
          expect(outcomes).toEqual(outcomesAlone);
          for (let i = 0; i < 3; i++) expect(await view(together[i]!)).toEqual(await view(alone[i]!));
        },
      ),
      { numRuns: 40 },
    );
  });
});
