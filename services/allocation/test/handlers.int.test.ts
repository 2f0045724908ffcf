import { outbox } from "@stockflow/messaging";
import { asc, gt } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type UnitOfWorkFactory, unitOfWorkFactory } from "../src/adapters/db/unit-of-work.js";
import { createViews } from "../src/adapters/db/views.js";
import { BatchNotRegistered } from "../src/app/batch-not-registered.js";
import * as handlers from "../src/app/handlers.js";
import type { UnitOfWork } from "../src/app/ports.js";
import { kitUnitOfWork, migratedTestDatabase } from "./support.js";

let database: Awaited<ReturnType<typeof migratedTestDatabase>>;
let unitOfWork: UnitOfWorkFactory;
let seen = 0;

beforeAll(async () => {
  database = await migratedTestDatabase("allocation_handlers");
  unitOfWork = unitOfWorkFactory({
    clock: { now: () => new Date("2030-01-01T00:00:00Z") },
    unitOfWork: kitUnitOfWork(database.db),
  });
});

afterAll(async () => {
  await database?.close();
});

function run<E>(handler: (uow: UnitOfWork, event: E) => Promise<void>, event: E): Promise<void> {
  return database.db.transaction((tx) => handler(unitOfWork(tx), event));
}

/**
 * Outbox rows written since the last call, in the order they will be published, without the
 * line_allocated v1 rows the kit writes beside each v2 (shown once, in the first test).
 */
async function published() {
  return (await publishedAll()).filter((e) => e.subject !== "allocation.line_allocated.v1");
}

async function publishedAll() {
  const rows = await database.db.select().from(outbox).where(gt(outbox.id, seen)).orderBy(asc(outbox.id));
  seen = rows.at(-1)?.id ?? seen;
  return rows.map(
    (r) =>
      ({ subject: r.subject, ...(r.payload as Record<string, unknown>) }) as {
        subject: string;
        [field: string]: unknown;
      },
  );
}

const placed = (orderId: string, lines: Array<{ sku: string; qty: number }>) => ({
  orderId,
  customerId: "c-1",
  lines,
  placedAt: "2030-01-01T00:00:00Z",
});

describe("the handlers, through the real unit of work", () => {
  it("publish line_allocated for a placed order, with the CloudEvents headers of the contract", async () => {
    await run(handlers.registerBatch, { reference: "lamp-1", sku: "LAMP", qty: 10, eta: null });
    expect(await published()).toEqual([]);
    await run(handlers.allocate, placed("order-1", [{ sku: "LAMP", qty: 3 }]));
    const line = { orderId: "order-1", sku: "LAMP", qty: 3, batchref: "lamp-1" };
    expect(await publishedAll()).toEqual([
      { subject: "allocation.line_allocated.v2", ...line, eta: null, version: 2 },
      { subject: "allocation.line_allocated.v1", ...line, version: 2 },
    ]);
    const rows = await database.db.select().from(outbox).orderBy(asc(outbox.id));
    expect(rows.map((r) => r.headers)).toEqual([
      expect.objectContaining({ "ce-type": "allocation.line_allocated.v2", "ce-source": "/allocation" }),
      expect.objectContaining({ "ce-type": "allocation.line_allocated.v1", "ce-source": "/allocation" }),
    ]);
    expect(rows[0]!.eventId).not.toBe(rows[1]!.eventId);
  });

  it("change nothing when the same order is placed again", async () => {
    await run(handlers.allocate, placed("order-1", [{ sku: "LAMP", qty: 3 }]));
    expect(await published()).toEqual([]);
  });

  it("touch every product of a multi-SKU order in one transaction", async () => {
    await run(
      handlers.allocate,
      placed("order-2", [
        { sku: "LAMP", qty: 2 },
        { sku: "SOFA", qty: 1 },
      ]),
    );
    expect(await published()).toEqual([
      {
        subject: "allocation.line_allocated.v2",
        orderId: "order-2",
        sku: "LAMP",
        qty: 2,
        batchref: "lamp-1",
        eta: null,
        version: 3,
      },
      { subject: "allocation.out_of_stock.v1", orderId: "order-2", sku: "SOFA", qty: 1, version: 1 },
    ]);
  });

  it("allocate a backorder when its batch arrives", async () => {
    await run(handlers.registerBatch, { reference: "sofa-1", sku: "SOFA", qty: 1, eta: "2030-02-01" });
    expect(await published()).toEqual([
      {
        subject: "allocation.line_allocated.v2",
        orderId: "order-2",
        sku: "SOFA",
        qty: 1,
        batchref: "sofa-1",
        eta: "2030-02-01",
        version: 3,
      },
    ]);
  });

  it("move a line to the later batch when the earlier one shrinks below it (the book's scenario)", async () => {
    await run(handlers.registerBatch, { reference: "batch1", sku: "TABLE", qty: 50, eta: null });
    await run(handlers.registerBatch, { reference: "batch2", sku: "TABLE", qty: 50, eta: "2030-03-01" });
    await run(handlers.allocate, placed("order1", [{ sku: "TABLE", qty: 20 }]));
    await published();
    await run(handlers.changeBatchQuantity, {
      reference: "batch1",
      sku: "TABLE",
      qty: 10,
      reason: "damaged",
    });
    expect(await published()).toEqual([
      {
        subject: "allocation.line_deallocated.v1",
        orderId: "order1",
        sku: "TABLE",
        qty: 20,
        batchref: "batch1",
        reason: "batch_quantity_changed",
        version: 5,
      },
      {
        subject: "allocation.line_allocated.v2",
        orderId: "order1",
        sku: "TABLE",
        qty: 20,
        batchref: "batch2",
        eta: "2030-03-01",
        version: 6,
      },
    ]);
  });

  it("free a cancelled order's stock for the oldest backorder", async () => {
    await run(handlers.registerBatch, { reference: "chair-1", sku: "CHAIR", qty: 4, eta: null });
    await run(handlers.allocate, placed("first", [{ sku: "CHAIR", qty: 4 }]));
    await run(handlers.allocate, placed("second", [{ sku: "CHAIR", qty: 2 }]));
    await run(handlers.allocate, placed("third", [{ sku: "CHAIR", qty: 2 }]));
    await published();
    await run(handlers.cancelOrder, { orderId: "first", cancelledAt: "2030-01-02T00:00:00Z" });
    expect((await published()).map((e) => [e.subject, e.orderId])).toEqual([
      ["allocation.line_deallocated.v1", "first"],
      ["allocation.line_allocated.v2", "second"],
      ["allocation.line_allocated.v2", "third"],
    ]);
  });

  it("drop a cancelled order's backorder without publishing anything", async () => {
    await run(handlers.allocate, placed("waiting", [{ sku: "CHAIR", qty: 9 }]));
    await published();
    await run(handlers.cancelOrder, { orderId: "waiting", cancelledAt: "2030-01-02T00:00:00Z" });
    expect(await published()).toEqual([]);
    expect((await createViews(database.db).product("CHAIR"))?.backorders).toEqual([]);
  });

  it("announce each line of a delayed shipment again, in v2 only, with its new eta and version", async () => {
    await run(handlers.delayShipment, { reference: "batch2", sku: "TABLE", eta: "2030-06-01" });
    expect(await publishedAll()).toEqual([
      {
        subject: "allocation.line_allocated.v2",
        orderId: "order1",
        sku: "TABLE",
        qty: 20,
        batchref: "batch2",
        eta: "2030-06-01",
        version: 8,
      },
    ]);
    const product = await createViews(database.db).product("TABLE");
    expect(product?.version).toBe(8);
  });

  it("change only future choices when a shipment is delayed", async () => {
    const product = await createViews(database.db).product("TABLE");
    expect(product?.batches.find((b) => b.reference === "batch2")).toMatchObject({
      eta: "2030-06-01",
      available: 30,
    });
  });

  it("refuse stock news about a batch not registered yet, to be retried, and change nothing", async () => {
    await expect(
      run(handlers.changeBatchQuantity, { reference: "ghost", sku: "GHOST", qty: 1, reason: "count" }),
    ).rejects.toThrow(BatchNotRegistered);
    await expect(
      run(handlers.delayShipment, { reference: "ghost", sku: "GHOST", eta: "2030-06-01" }),
    ).rejects.toThrow(BatchNotRegistered);
    await expect(
      run(handlers.delayShipment, { reference: "ghost", sku: "TABLE", eta: "2030-06-01" }),
    ).rejects.toThrow(BatchNotRegistered);
    expect(await published()).toEqual([]);
    expect(await createViews(database.db).product("GHOST")).toBeUndefined();
  });
});
