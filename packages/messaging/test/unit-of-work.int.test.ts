import { customerBecameVipV1 } from "@stockflow/contracts";
import { countSocketWrites, createTestDatabase, type TestDatabase, waitFor } from "@stockflow/testkit";
import { sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/postgres-js";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CommittedRow } from "../src/index.js";
import { OUTBOX_CHANNEL } from "../src/outbox/statements.js";
import { createUnitOfWork, type UnitOfWork } from "../src/unit-of-work.js";
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
  it("writes a transaction's rows with the NOTIFY that wakes the relays at commit, and hands none over", async () => {
    const { uow, handedOff } = unitOfWork();
    const before = notified;
    await uow.transaction(async (tx) => {
      await uow.outbox.enqueue(tx, customerBecameVipV1, vip("c-outbox-1"));
      await uow.outbox.enqueue(tx, customerBecameVipV1, vip("c-outbox-2"));
      expect(notified).toBe(before);
    });
    await waitFor(() => notified > before, { message: "the NOTIFY" });
    expect(handedOff).toEqual([]);
    const stored = await h.sql<{ customer: string }[]>`
      select payload->>'customerId' as customer from outbox where payload->>'customerId' like 'c-outbox-%' order by id`;
    expect(stored.map((r) => r.customer)).toEqual(["c-outbox-1", "c-outbox-2"]);
  });

  it("hands nothing over and writes nothing when the transaction rolls back", async () => {
    const { uow, handedOff } = unitOfWork();
    await expect(
      uow.transaction(async (tx) => {
        await uow.outbox.enqueue(tx, customerBecameVipV1, vip("c-rollback"));
        throw new Error("no");
      }),
    ).rejects.toThrow("no");
    expect(handedOff).toEqual([]);
    expect(await h.sql`select 1 from outbox where payload->>'customerId' = 'c-rollback'`).toHaveLength(0);
  });
});

describe("state kept per transaction (perTransaction)", () => {
  /** A scope whose state is the notes of one transaction, and what `committed` got. */
  function notes(uow: UnitOfWork) {
    const opened: string[][] = [];
    const committed: string[][] = [];
    const notesOf = uow.perTransaction({
      open: () => {
        const state: string[] = [];
        opened.push(state);
        return state;
      },
      committed: (state) => committed.push(state),
    });
    return { notesOf, opened, committed };
  }

  it("is one state throughout a transaction, handed to committed once, after the commit", async () => {
    const { uow } = unitOfWork();
    const { notesOf, opened, committed } = notes(uow);
    let visibleAtCommitted: Promise<number> | undefined;
    const inserted = uow.perTransaction({
      open: () => ({}),
      // Another connection of the pool: it sees the row only once the transaction committed.
      committed: () => {
        visibleAtCommitted = h.sql`select count(*)::int as n from effects where note = 'p-commit'`.then(
          ([row]) => row!.n as number,
        );
      },
    });
    await uow.transaction(async (tx) => {
      notesOf(tx).push("a");
      await tx.execute(sql`insert into effects (note) values ('p-commit')`);
      inserted(tx);
      notesOf(tx).push("b");
      expect(committed).toEqual([]);
    });
    expect(opened).toEqual([["a", "b"]]);
    expect(committed).toEqual([["a", "b"]]);
    expect(committed[0]).toBe(opened[0]);
    expect(await visibleAtCommitted).toBe(1);
  });

  it("never hands a rolled-back transaction's state to committed, and the retry starts afresh", async () => {
    const { uow } = unitOfWork();
    const { notesOf, opened, committed } = notes(uow);
    await expect(
      uow.transaction(async (tx) => {
        notesOf(tx).push("lost");
        throw new Error("no");
      }),
    ).rejects.toThrow("no");
    expect(committed).toEqual([]);
    await uow.transaction(async (tx) => {
      notesOf(tx).push("kept");
    });
    expect(opened).toEqual([["lost"], ["kept"]]);
    expect(committed).toEqual([["kept"]]);
  });

  it("gives each transaction its own state, concurrent ones included", async () => {
    const { uow } = unitOfWork();
    const { notesOf, opened, committed } = notes(uow);
    let release!: () => void;
    const bothOpen = new Promise<void>((resolve) => {
      release = resolve;
    });
    let started = 0;
    const run = (name: string) =>
      uow.transaction(async (tx) => {
        notesOf(tx).push(`${name}-1`);
        if (++started === 2) release();
        await bothOpen;
        await tx.execute(sql`select 1`);
        notesOf(tx).push(`${name}-2`);
      });
    await Promise.all([run("x"), run("y")]);
    expect(opened).toHaveLength(2);
    expect(opened.map((s) => s.join()).sort()).toEqual(["x-1,x-2", "y-1,y-2"]);
    expect(committed.map((s) => s[0]).sort()).toEqual(["x-1", "y-1"]);
    await uow.transaction(async (tx) => {
      expect(notesOf(tx)).toEqual([]);
    });
  });

  it("outside the unit of work's transactions: a transaction of its own keeps a state it never sees commit; the database gets a new one each call", async () => {
    const { uow } = unitOfWork();
    const { notesOf, opened, committed } = notes(uow);
    await h.db.transaction(async (tx) => {
      notesOf(tx).push("own");
      notesOf(tx).push("own-again");
    });
    notesOf(h.db).push("db-1");
    notesOf(h.db).push("db-2");
    expect(opened).toEqual([["own", "own-again"], ["db-1"], ["db-2"]]);
    expect(committed).toEqual([]);
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
