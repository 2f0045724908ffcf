import { createTestDatabase, type TestDatabase, waitFor } from "@stockflow/testkit";
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
