import { countSocketWrites, createTestDatabase, type TestDatabase } from "@stockflow/testkit";
import { sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/postgres-js";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  clientOf,
  isTransaction,
  pipelinedBegin,
  pipelinedTransaction,
  sendPrepared,
} from "../src/driver.js";
import type { Tx } from "../src/types.js";

// driver.ts is the kit's only reach under drizzle (its `$client`, its session's `client`,
// how its transactions are built) and the only caller of our postgres-js patch's opt-in.
// These fail when a drizzle upgrade moves them or the patch is lost.

let pg: TestDatabase;
let client: postgres.Sql;
let db: ReturnType<typeof drizzle>;
const clients: postgres.Sql[] = [];

beforeAll(async () => {
  pg = await createTestDatabase("messaging_driver");
  client = postgres(pg.url, { max: 2, onnotice: () => {} });
  db = drizzle(client);
  await client`create table notes (id int primary key)`;
  await client`create table marks (id text primary key)`;
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.end({ timeout: 1 })));
  await client?.end();
  await pg?.drop();
});

/** A one-connection client that counts its socket writes to PostgreSQL: one per round trip here. */
function counting(): { sql: postgres.Sql; writes: () => number } {
  const socket = countSocketWrites(pg.url);
  const sql = postgres(pg.url, { max: 1, onnotice: () => {}, ...socket.options });
  clients.push(sql);
  return { sql, writes: socket.writes };
}

describe("the driver under drizzle", () => {
  it("tells a transaction from a database", async () => {
    expect(isTransaction(db)).toBe(false);
    await db.transaction(async (tx) => {
      expect(isTransaction(tx)).toBe(true);
    });
  });

  it("is the postgres-js client a database was made with", () => {
    expect(clientOf(db)).toBe(client);
  });

  it("is, in a transaction, the client holding that transaction's connection", async () => {
    await db.transaction(async (tx) => {
      const [ours] = await tx.execute<{ id: string }>(sql`select txid_current()::text as id`);
      const [theirs] = await clientOf(tx)`select txid_current()::text as id`;
      expect(theirs!.id).toBe(ours!.id);
      expect(clientOf(tx)).not.toBe(client);
    });
  });

  it("sends prepared statements in the transaction, seeing what it wrote before it commits", async () => {
    const rolledBack = new Error("roll back");
    await expect(
      db.transaction(async (tx) => {
        const written = sendPrepared(tx, { text: "insert into notes (id) values ($1::int)", params: [1] });
        const [row] = await sendPrepared<{ n: number }>(tx, {
          text: "select count(*)::int as n from notes",
          params: [],
        });
        await written;
        expect(row!.n).toBe(1);
        throw rolledBack;
      }),
    ).rejects.toBe(rolledBack);
    const [after] = await client`select count(*)::int as n from notes`;
    expect(after!.n).toBe(0);
  });
});

// The pipelined transactions of the kit (our postgres-js patch's opt-in): BEGIN goes out with
// the first statements, queries returned unsent go out with COMMIT. What matters besides the
// round trips saved is that a transaction still is one.
describe("a pipelined transaction", () => {
  /** Reads in the transaction, then returns an insert and a select unsent. */
  const work = (t: postgres.TransactionSql, tag: string) => async () => {
    const [row] = await t`select txid_current()::text as txid`;
    const txid = row!.txid as string;
    return [
      t`insert into marks (id) values (${`${tag}-${txid}`})`,
      t`select count(*)::int as n, txid_current()::text = ${txid} as same from marks where id = ${`${tag}-${txid}`}`,
    ];
  };

  it("is two round trips where a plain sql.begin, left as upstream's, is four", async () => {
    const { sql, writes } = counting();
    const pipelined = () => pipelinedBegin(sql, (t) => work(t, "pipelined")());
    // Upstream sends nothing an async callback returns: the plain one awaits its queries.
    const plain = () => sql.begin(async (t) => Promise.all(await work(t, "plain")()));
    // The first runs prepare the statements (a round trip each); the second are measured.
    await pipelined();
    await plain();
    let before = writes();
    const [, counted] = await pipelined();
    expect(writes() - before).toBe(2);
    expect(counted![0]).toEqual({ n: 1, same: true });
    // As upstream: BEGIN alone, the read, the two queries, COMMIT.
    before = writes();
    const [, plainCounted] = await plain();
    expect(writes() - before).toBe(4);
    expect(plainCounted![0]).toEqual({ n: 1, same: true });
    expect(await sql`select id from marks`).toHaveLength(4);
    // Upstream's own semantics, unpatched: what an async callback returns is not sent.
    await sql.begin(async (t) => {
      await t`select 1`;
      return [t`insert into marks (id) values ('returned-unsent')`];
    });
    expect(await sql`select id from marks where id = 'returned-unsent'`).toHaveLength(0);
    await sql`delete from marks`;
  });

  it("rolls back everything when a returned query fails, and throws its error", async () => {
    const { sql, writes } = counting();
    await sql`insert into marks (id) values ('taken')`;
    const failing = () =>
      pipelinedBegin(sql, async (t) => {
        await t`insert into marks (id) values ('before')`;
        return [t`insert into marks (id) values ('returned')`, t`insert into marks (id) values ('taken')`];
      });
    await expect(failing()).rejects.toMatchObject({ code: "23505" });
    // Prepared now: the second run is two writes, no ROLLBACK after the COMMIT that ended it.
    const before = writes();
    await expect(failing()).rejects.toMatchObject({ code: "23505" });
    expect(writes() - before).toBe(2);
    expect((await sql`select id from marks order by id`).map((r) => r.id)).toEqual(["taken"]);
    // The connection is out of the aborted transaction: the next one commits.
    await pipelinedBegin(sql, (t) => [t`insert into marks (id) values ('after')`]);
    expect((await sql`select id from marks order by id`).map((r) => r.id)).toEqual(["after", "taken"]);
    await sql`delete from marks`;
  });

  it("rolls back when the callback throws after its first statement went out behind BEGIN", async () => {
    const { sql } = counting();
    class Boom extends Error {}
    await expect(
      pipelinedBegin(sql, async (t) => {
        await t`insert into marks (id) values ('thrown')`;
        throw new Boom();
      }),
    ).rejects.toBeInstanceOf(Boom);
    expect(await sql`select id from marks`).toHaveLength(0);
  });

  it("keeps each transaction on its own connection when many run at once with other queries", async () => {
    const sql = postgres(pg.url, { max: 3, onnotice: () => {} });
    clients.push(sql);
    const outcomes = await Promise.all(
      Array.from({ length: 150 }, (_, i) =>
        i % 3 === 0
          ? sql`select txid_current() as t`.then(() => true)
          : pipelinedBegin(sql, async (t) => {
              const [a] = await t`select txid_current()::text as id, pg_backend_pid() as pid`;
              const [b] = await t`select txid_current()::text as id, pg_backend_pid() as pid`;
              return a?.id === b?.id && a?.pid === b?.pid;
            }),
      ),
    );
    expect(outcomes.every(Boolean)).toBe(true);
  });

  it("under drizzle is a drizzle transaction on its own connection, one round trip shorter than db.transaction", async () => {
    const { sql: counted, writes } = counting();
    const drizzled = drizzle(counted);
    const insert = (tx: Tx, id: number) =>
      // No parameters: nothing is described before it is sent, whether prepared or not.
      tx.execute(sql.raw(`insert into notes (id) values (${id})`));
    await drizzled.transaction((tx) => insert(tx, 10));
    await pipelinedTransaction(drizzled, (tx) => insert(tx, 11));
    let before = writes();
    await drizzled.transaction((tx) => insert(tx, 12));
    // BEGIN, the insert, COMMIT.
    expect(writes() - before).toBe(3);
    before = writes();
    const seen = await pipelinedTransaction(drizzled, async (tx) => {
      expect(isTransaction(tx)).toBe(true);
      await insert(tx, 13);
      const mine = await tx.execute(sql`select txid_current()::text as id`);
      const [ours] = mine as unknown as { id: string }[];
      const [theirs] = await clientOf(
        tx,
      )`select txid_current()::text as id, count(*)::int as n from notes where id = 13`;
      return { same: theirs!.id === ours!.id, n: theirs!.n };
    });
    expect(seen).toEqual({ same: true, n: 1 });
    // BEGIN with the insert, the two reads, COMMIT.
    expect(writes() - before).toBe(4);
    const rolledBack = new Error("roll back");
    await expect(
      pipelinedTransaction(drizzled, async (tx) => {
        await insert(tx, 14);
        throw rolledBack;
      }),
    ).rejects.toBe(rolledBack);
    const rows = await client`select id from notes where id >= 10 order by id`;
    expect(rows.map((r) => r.id)).toEqual([10, 11, 12, 13]);
    await client`delete from notes`;
  });
});
