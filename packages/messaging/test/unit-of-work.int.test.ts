import { customerBecameVipV1 } from "@stockflow/contracts";
import { countSocketWrites, createTestDatabase, type TestDatabase, waitFor } from "@stockflow/testkit";
import { drizzle } from "drizzle-orm/postgres-js";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CommittedRow } from "../src/index.js";
import { OUTBOX_CHANNEL } from "../src/outbox/statements.js";
import { createUnitOfWork } from "../src/unit-of-work.js";
import { openTestDb } from "./support.js";

let pg: TestDatabase;
let h: Awaited<ReturnType<typeof openTestDb>>;
let notified = 0;

beforeAll(async () => {
  pg = await createTestDatabase("messaging_uow");
  h = await openTestDb(pg.url);
  await h.sql.listen(OUTBOX_CHANNEL, () => notified++);
});

afterAll(async () => {
  await h?.sql.end();
  await pg?.drop();
});

const vip = (customerId: string) => ({ customerId, orderCount: 3 });

function unitOfWork() {
  const handedOff: CommittedRow[][] = [];
  return {
    handedOff,
    uow: createUnitOfWork({ service: "ordering", db: h.db, handOff: (r) => handedOff.push(r) }),
  };
}

describe("the kit's unit of work", () => {
  it("writes a transaction's rows with the NOTIFY that wakes the relays at commit, hands none over, then runs afterCommit", async () => {
    const { uow, handedOff } = unitOfWork();
    const before = notified;
    const committed: string[] = [];
    await uow.transaction(async (tx) => {
      uow.afterCommit(tx, () => committed.push("after"));
      await uow.outbox.enqueue(tx, customerBecameVipV1, vip("c-outbox-1"));
      await uow.outbox.enqueue(tx, customerBecameVipV1, vip("c-outbox-2"));
      expect(notified).toBe(before);
    });
    expect(committed).toEqual(["after"]);
    await waitFor(() => notified > before, { message: "the NOTIFY" });
    expect(handedOff).toEqual([]);
    const stored = await h.sql<{ customer: string }[]>`
      select payload->>'customerId' as customer from outbox where payload->>'customerId' like 'c-outbox-%' order by id`;
    expect(stored.map((r) => r.customer)).toEqual(["c-outbox-1", "c-outbox-2"]);
  });

  it("hands nothing over and runs no afterCommit when the transaction rolls back", async () => {
    const { uow, handedOff } = unitOfWork();
    let ran = false;
    await expect(
      uow.transaction(async (tx) => {
        uow.afterCommit(tx, () => {
          ran = true;
        });
        await uow.outbox.enqueue(tx, customerBecameVipV1, vip("c-rollback"));
        throw new Error("no");
      }),
    ).rejects.toThrow("no");
    expect(handedOff).toEqual([]);
    expect(await h.sql`select 1 from outbox where payload->>'customerId' = 'c-rollback'`).toHaveLength(0);
    expect(ran).toBe(false);
    expect(uow.afterCommit(h.db, () => {})).toBe(false);
  });

  it("is two round trips for a transaction that enqueues an event: BEGIN goes with the insert", async () => {
    const socket = countSocketWrites(pg.url);
    const sql = postgres(pg.url, { max: 1, onnotice: () => {}, ...socket.options });
    try {
      const uow = createUnitOfWork({ service: "ordering", db: drizzle(sql), handOff: () => {} });
      const enqueue = (customerId: string) =>
        uow.transaction((tx) => uow.outbox.enqueue(tx, customerBecameVipV1, vip(customerId)));
      // The first prepares the insert on this connection (a round trip more).
      await enqueue("c-trips-warm");
      const before = socket.writes();
      await enqueue("c-trips");
      // BEGIN and the insert, then COMMIT (its NOTIFY is part of it).
      expect(socket.writes() - before).toBe(2);
      const [row] =
        await h.sql`select count(*)::int as n from outbox where payload->>'customerId' = 'c-trips'`;
      expect(row!.n).toBe(1);
    } finally {
      await sql.end({ timeout: 1 });
    }
  });
});
