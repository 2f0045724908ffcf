import { countSocketWrites, createTestDatabase, type TestDatabase, waitFor } from "@stockflow/testkit";
import postgres, { type Sql } from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// The services depend on postgres-js 3.4.9 with patches/postgres@3.4.9.patch. Without it, a
// backend that goes away in the middle of a transaction crashes the process from a timer, and
// the pooled connection never comes back: every reconnect ends in CONNECT_TIMEOUT because the
// startup message stays buffered behind a stale write timer. This is what a database restart
// did to ordering in the database-down scenario.

let database: TestDatabase;
let admin: Sql;
const clients: Sql[] = [];

/** One connection, so the connection that lost its backend is the one the next query gets. */
function client(): Sql {
  const sql = postgres(database.url, { max: 1, connect_timeout: 2, backoff: () => 0.05, onnotice: () => {} });
  clients.push(sql);
  return sql;
}

/** Kills the backend once it is inside the transaction's pg_sleep. */
async function terminateBackendOf(applicationName: string): Promise<void> {
  await waitFor(
    async () => {
      const rows = await admin`
        select pg_terminate_backend(pid) as done from pg_stat_activity
        where datname = ${database.name} and application_name = ${applicationName} and state = 'active' and query like 'select pg_sleep%'`;
      return rows.length > 0 && rows.every((r) => r.done === true);
    },
    { timeoutMs: 5_000, intervalMs: 10, message: `${applicationName} to sleep in its transaction` },
  );
}

beforeAll(async () => {
  database = await createTestDatabase("pgjs_patch");
  admin = postgres(database.url, { max: 1, onnotice: () => {} });
  await admin`create table marks (id text primary key)`;
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.end({ timeout: 1 })));
  await admin?.end();
  await database?.drop();
});

describe("postgres-js after its backend is terminated inside a transaction", () => {
  it("rejects the transaction and the same connection serves the next query", async () => {
    const sql = client();
    await sql`set application_name = 'pgjs-patch-a'`;
    const tx = sql.begin(async (t) => {
      await t`select pg_sleep(30)`;
    });
    await terminateBackendOf("pgjs-patch-a");

    await expect(tx).rejects.toThrow();
    const started = Date.now();
    const rows = await sql`select 1 as one`;
    expect(rows[0]?.one).toBe(1);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it("refuses the transaction's later queries instead of running them on the next connection", async () => {
    const sql = client();
    await sql`set application_name = 'pgjs-patch-b'`;
    let release: () => void = () => {};
    const paused = new Promise<void>((resolve) => {
      release = resolve;
    });
    let late: Promise<unknown> | undefined;
    const tx = sql.begin(async (t) => {
      await t`insert into marks (id) values ('first')`;
      // Holds the transaction open while its backend is killed, then writes through it.
      const sleeping = t`select pg_sleep(30)`.catch(() => undefined);
      await paused;
      await sleeping;
      late = t`insert into marks (id) values ('late')`;
      await late;
    });
    const settled = tx.then(
      () => "committed",
      () => "rejected",
    );
    await terminateBackendOf("pgjs-patch-b");
    release();

    expect(await settled).toBe("rejected");
    await waitFor(() => late !== undefined, { timeoutMs: 2_000, message: "the late insert to be issued" });
    await expect(late).rejects.toThrow();
    // The connection is usable again and nothing of the dead transaction was committed.
    const rows = await sql`select id from marks order by id`;
    expect(rows.map((r) => r.id)).toEqual([]);
  });
});

// The patch also saves round trips: a plain BEGIN goes out with the transaction's first
// statements, and the queries a transaction's callback returns unsent go out with the COMMIT.
// What matters besides the saving is that a transaction still is one.
describe("postgres-js transactions with BEGIN and COMMIT pipelined", () => {
  /** A client that counts its socket writes to PostgreSQL. */
  function counting(): { sql: Sql; writes: () => number } {
    const socket = countSocketWrites(database.url);
    const sql = postgres(database.url, { max: 1, onnotice: () => {}, ...socket.options });
    clients.push(sql);
    return { sql, writes: socket.writes };
  }

  it("sends BEGIN with the first statement and the returned queries with COMMIT: two writes", async () => {
    const { sql, writes } = counting();
    const transaction = () =>
      sql.begin(async (t) => {
        const [row] = await t`select txid_current()::text as txid`;
        const txid = row!.txid as string;
        return [
          t`insert into marks (id) values (${`pipelined-${txid}`})`,
          t`select count(*)::int as n, txid_current()::text = ${txid} as same from marks where id = ${`pipelined-${txid}`}`,
        ];
      });
    // The first run prepares the statements (a round trip each); the second is measured.
    await transaction();
    const before = writes();
    const [, counted] = await transaction();
    const [count] = counted!;
    expect(writes() - before).toBe(2);
    expect(count).toEqual({ n: 1, same: true });
    expect(await sql`select id from marks`).toHaveLength(2);
    await sql`delete from marks`;
  });

  it("rolls back everything when a returned query fails, and throws its error", async () => {
    const { sql, writes } = counting();
    await sql`insert into marks (id) values ('taken')`;
    const failing = () =>
      sql.begin(async (t) => {
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
    await sql.begin((t) => [t`insert into marks (id) values ('after')`]);
    expect((await sql`select id from marks order by id`).map((r) => r.id)).toEqual(["after", "taken"]);
    await sql`delete from marks`;
  });

  it("rolls back when the callback throws after its first statement went out behind BEGIN", async () => {
    const { sql } = counting();
    class Boom extends Error {}
    await expect(
      sql.begin(async (t) => {
        await t`insert into marks (id) values ('thrown')`;
        throw new Boom();
      }),
    ).rejects.toBeInstanceOf(Boom);
    expect(await sql`select id from marks`).toHaveLength(0);
  });

  it("keeps each transaction on its own connection when many run at once with other queries", async () => {
    const sql = postgres(database.url, { max: 3, onnotice: () => {} });
    clients.push(sql);
    const outcomes = await Promise.all(
      Array.from({ length: 150 }, (_, i) =>
        i % 3 === 0
          ? sql`select txid_current() as t`.then(() => true)
          : sql.begin(async (t) => {
              const [a] = await t`select txid_current()::text as id, pg_backend_pid() as pid`;
              const [b] = await t`select txid_current()::text as id, pg_backend_pid() as pid`;
              return a?.id === b?.id && a?.pid === b?.pid;
            }),
      ),
    );
    expect(outcomes.every(Boolean)).toBe(true);
  });
});
