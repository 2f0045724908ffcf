import type { Tx } from "@stockflow/messaging";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { unitOfWorkFactory } from "../src/adapters/db/unit-of-work.js";
import * as handlers from "../src/app/handlers.js";
import { migratedTestDatabase } from "./support.js";

// Allocation's consumers hand the outbox rows a transaction wrote to the relay once it has
// committed (afterCommit -> relay.handOff(unitOfWork.written(tx))): the rows must be the ones
// stored, with their ids, in outbox order, and be handed over once.

let database: Awaited<ReturnType<typeof migratedTestDatabase>>;
const unitOfWork = unitOfWorkFactory({
  clock: { now: () => new Date("2030-01-01T00:00:00Z") },
  relayToldAfterCommit: true,
});

beforeAll(async () => {
  database = await migratedTestDatabase("allocation_written");
});

afterAll(async () => {
  await database?.dispose();
});

describe("unit of work: the outbox rows a transaction wrote", () => {
  it("are the stored rows with their ids, in outbox order, handed over once", async () => {
    let committed: Tx | undefined;
    await database.db.transaction(async (tx) => {
      committed = tx;
      await handlers.registerBatch(unitOfWork(tx), { reference: "w-b1", sku: "W-SKU", qty: 10, eta: null });
      await handlers.allocate(unitOfWork(tx), {
        orderId: "w-o1",
        customerId: "c-1",
        lines: [{ sku: "W-SKU", qty: 2 }],
        placedAt: "2030-01-01T00:00:00Z",
      });
    });
    const written = unitOfWork.written(committed!);
    const stored = await database.sql<{ id: string; event_id: string; subject: string }[]>`
      select id::text, event_id::text, subject from outbox order by id`;
    expect(stored.map((r) => r.subject)).toEqual(["allocation.line_allocated.v1"]);
    expect(written.map(({ id, eventId, subject }) => ({ id, event_id: eventId, subject }))).toEqual(stored);
    expect(written[0]!.headers["ce-id"]).toBe(stored[0]!.event_id);
    expect(unitOfWork.written(committed!)).toEqual([]);
  });

  it("are none for a transaction that wrote no event", async () => {
    let committed: Tx | undefined;
    await database.db.transaction(async (tx) => {
      committed = tx;
      await handlers.cancelOrder(unitOfWork(tx), {
        orderId: "w-unknown",
        cancelledAt: "2030-01-02T00:00:00Z",
      });
    });
    expect(unitOfWork.written(committed!)).toEqual([]);
  });
});
