import { createRetention } from "@stockflow/messaging";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { orderRecordsRetention } from "../src/adapters/db/retention.js";
import { unitOfWorkFactory } from "../src/adapters/db/unit-of-work.js";
import * as handlers from "../src/app/handlers.js";
import type { UnitOfWork } from "../src/app/ports.js";
import { kitUnitOfWork, migratedTestDatabase, quietLogger } from "./support.js";

// The retention of order records: records of placed orders go once old, tombstones stay, and
// a placement or cancellation that comes after the sweep (a redelivery, a replayed dead
// letter) leaves the order as it would have with every record kept.

const DAY_MS = 24 * 60 * 60 * 1000;
const SKU = "RET-SOFA";

let database: Awaited<ReturnType<typeof migratedTestDatabase>>;
let unitOfWork: ReturnType<typeof unitOfWorkFactory>;

beforeAll(async () => {
  database = await migratedTestDatabase("allocation_order_records");
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

const placed = (orderId: string) => ({
  orderId,
  customerId: "c-1",
  lines: [{ sku: SKU, qty: 2 }],
  placedAt: "2030-01-01T00:00:00Z",
});
const cancelled = (orderId: string) => ({ orderId, cancelledAt: "2030-01-01T00:01:00Z" });

async function records() {
  return database.sql<{ order_id: string; cancelled: boolean }[]>`
    select order_id, cancelled from order_records order by order_id`;
}

/** Lines the order holds, and what the batch has allocated in all. */
async function held(orderId: string) {
  const [row] = await database.sql`
    select (select count(*) from allocations where order_id = ${orderId})::int as allocated,
           (select count(*) from backorders where order_id = ${orderId})::int as waiting,
           (select allocated from batches where reference = ${`${SKU}-1`}) as batch`;
  return row;
}

describe("order records' retention", () => {
  it("deletes the records of placed orders older than INBOX_RETENTION and keeps every tombstone", async () => {
    await run(handlers.registerBatch, { reference: `${SKU}-1`, sku: SKU, qty: 10, eta: null });
    await run(handlers.allocate, placed("placed-old"));
    await run(handlers.allocate, placed("placed-young"));
    await run(handlers.allocate, placed("cancelled-after"));
    await run(handlers.cancelOrder, cancelled("cancelled-after"));
    // Cancelled before its placement arrived: a tombstone and nothing else.
    await run(handlers.cancelOrder, cancelled("cancelled-before"));
    await database.sql`
      update order_records set recorded_at = now() - interval '25 hours' where order_id <> 'placed-young'`;

    const retention = createRetention({
      service: "allocation",
      sql: database.sql,
      logger: quietLogger(),
      rules: [orderRecordsRetention(DAY_MS)],
    });
    expect(await retention.sweep()).toEqual({ order_records: 1 });
    expect(await records()).toEqual([
      { order_id: "cancelled-after", cancelled: true },
      { order_id: "cancelled-before", cancelled: true },
      { order_id: "placed-young", cancelled: false },
    ]);
    expect(await held("placed-old")).toEqual({ allocated: 1, waiting: 0, batch: 4 });
  });

  it("finds the expired records on their partial index (never a scan of every order)", async () => {
    const plan = await database.sql.begin(async (tx) => {
      // A table this small is read whole anyway: forbid that, to see the index can serve.
      await tx`set local enable_seqscan = off`;
      const rows = await tx.unsafe(`explain select ctid from order_records
        where recorded_at < now() - interval '1 day' and (not cancelled)
        order by recorded_at limit 500 for update skip locked`);
      return rows.map((r) => r["QUERY PLAN"]).join("\n");
    });
    expect(plan).toContain("order_records_placed_idx");
  });

  it("after the sweep, a late placement of a cancelled order allocates nothing, cancelled after or before its first placement", async () => {
    await run(handlers.allocate, placed("cancelled-after"));
    await run(handlers.allocate, placed("cancelled-before"));
    expect(await held("cancelled-after")).toEqual({ allocated: 0, waiting: 0, batch: 4 });
    expect(await held("cancelled-before")).toEqual({ allocated: 0, waiting: 0, batch: 4 });
  });

  it("after the sweep, an order whose record went is allocated once, and its cancellation still frees it for good", async () => {
    await run(handlers.allocate, placed("placed-old"));
    expect(await held("placed-old")).toEqual({ allocated: 1, waiting: 0, batch: 4 });
    await run(handlers.cancelOrder, cancelled("placed-old"));
    await run(handlers.allocate, placed("placed-old"));
    expect(await held("placed-old")).toEqual({ allocated: 0, waiting: 0, batch: 2 });
    expect((await records()).find((r) => r.order_id === "placed-old")).toEqual({
      order_id: "placed-old",
      cancelled: true,
    });
  });
});
