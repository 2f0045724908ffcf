import { createUnitOfWork, type Tx } from "@stockflow/messaging";
import { drizzle } from "drizzle-orm/postgres-js";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { unitOfWorkFactory } from "../src/adapters/db/unit-of-work.js";
import { ConcurrencyConflict } from "../src/app/concurrency-conflict.js";
import * as handlers from "../src/app/handlers.js";
import { migratedTestDatabase } from "./support.js";

// After a consumer's transaction (the kit's unit of work) commits, allocation keeps the
// products it left for the next transactions (the kit's afterCommit): a product remembered
// must spare the next transaction its read, and never let it decide on a state another
// writer has changed since.

let database: Awaited<ReturnType<typeof migratedTestDatabase>>;
let client: postgres.Sql;
let db: ReturnType<typeof drizzle>;
let recording: string[] | undefined;
const clock = { now: () => new Date("2030-01-01T00:00:00Z") };

beforeAll(async () => {
  database = await migratedTestDatabase("allocation_committed");
  client = postgres(database.url, {
    max: 2,
    onnotice: () => {},
    debug: (_connection, text) => recording?.push(text),
  });
  db = drizzle(client);
});

afterAll(async () => {
  await client?.end();
  await database?.dispose();
});

const placed = (orderId: string, sku: string, qty: number) => ({
  orderId,
  customerId: "c-1",
  lines: [{ sku, qty }],
  placedAt: "2030-01-01T00:00:00Z",
});

/** A process of allocation: its units of work over the kit's. */
function processOf() {
  const kit = createUnitOfWork({ service: "allocation", db, handOff: () => {} });
  return { unitOfWork: unitOfWorkFactory({ clock, unitOfWork: kit }), kit };
}

/** Runs `fn` in a transaction of the process; once it committed, the outbox rows it wrote. */
async function inTransaction(process: ReturnType<typeof processOf>, fn: (tx: Tx) => Promise<void>) {
  const [row] = await database.sql<{ last: string }[]>`select coalesce(max(id), 0)::text as last from outbox`;
  const last = row!.last;
  await process.kit.transaction(fn);
  return database.sql<{ subject: string }[]>`select subject from outbox where id > ${last} order by id`;
}

const productReads = () => (recording ?? []).filter((text) => /from products p where/.test(text));

describe("unit of work: what a committed transaction leaves", () => {
  it("its products: the next transaction allocates on them without reading them", async () => {
    const process = processOf();
    const { unitOfWork } = process;
    await inTransaction(process, async (tx) => {
      await handlers.registerBatch(unitOfWork(tx), { reference: "c-b1", sku: "C-SKU", qty: 10, eta: null });
      await handlers.allocate(unitOfWork(tx), placed("c-o1", "C-SKU", 2));
    });
    recording = [];
    try {
      const rows = await inTransaction(process, (tx) =>
        handlers.allocate(unitOfWork(tx), placed("c-o2", "C-SKU", 3)),
      );
      expect(rows.map((r) => r.subject)).toEqual([
        "allocation.line_allocated.v2",
        "allocation.line_allocated.v1",
      ]);
      expect(productReads()).toEqual([]);
    } finally {
      recording = undefined;
    }
    const [batch] = await database.sql`select allocated from batches where reference = 'c-b1'`;
    expect(batch!.allocated).toBe(5);
  });

  it("never decides on a product another writer changed since: the save loses, the retry reads", async () => {
    const oursProcess = processOf();
    const ours = oursProcess.unitOfWork;
    // Another replica's allocation, with a memory of its own.
    const theirsProcess = processOf();
    const theirs = theirsProcess.unitOfWork;
    await inTransaction(oursProcess, async (tx) => {
      await handlers.registerBatch(ours(tx), { reference: "r-b1", sku: "R-SKU", qty: 3, eta: null });
      await handlers.allocate(ours(tx), placed("r-o1", "R-SKU", 1));
    });
    // The batch is full now; this process still remembers 2 of 3 free.
    await inTransaction(theirsProcess, (tx) => handlers.allocate(theirs(tx), placed("r-o2", "R-SKU", 2)));
    await expect(
      inTransaction(oursProcess, (tx) => handlers.allocate(ours(tx), placed("r-o3", "R-SKU", 2))),
    ).rejects.toBeInstanceOf(ConcurrencyConflict);
    // The consumer runs it again (a transient failure): this time the product is read.
    recording = [];
    try {
      await inTransaction(oursProcess, (tx) => handlers.allocate(ours(tx), placed("r-o3", "R-SKU", 2)));
      expect(productReads()).toHaveLength(1);
    } finally {
      recording = undefined;
    }
    const [batch] = await database.sql`select qty, allocated from batches where reference = 'r-b1'`;
    expect(batch).toEqual({ qty: 3, allocated: 3 });
    const waiting = await database.sql`select order_id, qty from backorders where sku = 'R-SKU'`;
    expect(waiting).toEqual([{ order_id: "r-o3", qty: 2 }]);
  });

  it("nothing, for a transaction that wrote no event", async () => {
    const process = processOf();
    const { unitOfWork } = process;
    const rows = await inTransaction(process, (tx) =>
      handlers.cancelOrder(unitOfWork(tx), { orderId: "w-unknown", cancelledAt: "2030-01-02T00:00:00Z" }),
    );
    expect(rows).toEqual([]);
  });
});
