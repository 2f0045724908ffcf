import { type CommittedRow, createUnitOfWork, type Tx } from "@stockflow/messaging";
import { drizzle } from "drizzle-orm/postgres-js";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { unitOfWorkFactory } from "../src/adapters/db/unit-of-work.js";
import { ConcurrencyConflict } from "../src/app/concurrency-conflict.js";
import * as handlers from "../src/app/handlers.js";
import { migratedTestDatabase } from "./support.js";

// After a consumer's transaction (the kit's unit of work) commits, the kit hands the outbox
// rows it wrote to the relay and allocation keeps the products it left for the next
// transactions (the kit's perTransaction, committed). The rows must be the ones stored, with their ids;
// a product remembered must spare the next transaction its read, and never let it decide on
// a state another writer has changed since.

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
  await database?.close();
});

const placed = (orderId: string, sku: string, qty: number) => ({
  orderId,
  customerId: "c-1",
  lines: [{ sku, qty }],
  placedAt: "2030-01-01T00:00:00Z",
});

/** A process of allocation: its units of work over the kit's, and what the kit handed to its relay. */
function processOf() {
  const handedOff: CommittedRow[][] = [];
  const kit = createUnitOfWork({
    service: "allocation",
    db,
    handOff: (rows) => handedOff.push(rows),
    publishOrder: "commit",
  });
  return { unitOfWork: unitOfWorkFactory({ clock, unitOfWork: kit }), kit, handedOff };
}

/** Runs `fn` in a transaction of the process; once it committed, the rows handed to the relay. */
async function inTransaction(process: ReturnType<typeof processOf>, fn: (tx: Tx) => Promise<void>) {
  process.handedOff.length = 0;
  await process.kit.transaction(fn);
  return process.handedOff.flat();
}

const productReads = () => (recording ?? []).filter((text) => /from products p where/.test(text));

describe("unit of work: what a committed transaction leaves", () => {
  it("its outbox rows, with their ids, in outbox order, handed over once", async () => {
    const process = processOf();
    const { unitOfWork } = process;
    await process.kit.transaction(async (tx) => {
      await handlers.registerBatch(unitOfWork(tx), { reference: "w-b1", sku: "W-SKU", qty: 10, eta: null });
      await handlers.allocate(unitOfWork(tx), placed("w-o1", "W-SKU", 2));
    });
    expect(process.handedOff).toHaveLength(1);
    const written = process.handedOff[0]!;
    const stored = await database.sql<{ id: string; event_id: string; subject: string }[]>`
      select id::text, event_id::text, subject from outbox order by id`;
    expect(stored.map((r) => r.subject)).toEqual([
      "allocation.line_allocated.v2",
      "allocation.line_allocated.v1",
    ]);
    expect(written.map(({ id, eventId, subject }) => ({ id, event_id: eventId, subject }))).toEqual(stored);
    expect(written[0]!.headers["ce-id"]).toBe(stored[0]!.event_id);
  });

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
