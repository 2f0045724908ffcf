import { connect, type Socket } from "node:net";
import { createTestDatabase, type TestDatabase, waitFor } from "@stockflow/testkit";
import postgres, { type Sql } from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// The services depend on postgres-js 3.4.9 with patches/postgres@3.4.9.patch. Without its bug
// fixes, a backend that goes away in the middle of a transaction crashes the process from a
// timer, and the pooled connection never comes back: every reconnect ends in CONNECT_TIMEOUT
// because the startup message stays buffered behind a stale write timer. This is what a
// database restart did to ordering in the database-down scenario. Each fix of the patch makes
// at least one of these pass that fails without it (connection.js: refusing a query on a
// closed socket, forgetting the buffered write, forgetting the half-read reply; index.js:
// rejecting a dead transaction's waiting queries, refusing its later ones). These use plain
// `sql.begin`; the patch's opt-in (pipelined transactions) is tested with messaging's driver.ts.

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

  it("rejects the queries a transaction had waiting for its connection", async () => {
    const sql = client();
    await sql`set application_name = 'pgjs-patch-c'`;
    let waiting: Promise<unknown>[] = [];
    const tx = sql.begin(async (t) => {
      const sleeping = t`select pg_sleep(30)`.execute();
      // More than the connection pipelines (100), behind a statement it describes first:
      // they wait in the transaction's own queue for the connection.
      waiting = Array.from({ length: 150 }, (_, i) => t`select ${i}::int as i`.execute());
      await sleeping;
    });
    const settled = tx.then(
      () => "committed",
      () => "rejected",
    );
    await terminateBackendOf("pgjs-patch-c");

    expect(await settled).toBe("rejected");
    let outcomes: PromiseSettledResult<unknown>[] | undefined;
    void Promise.allSettled(waiting).then((o) => {
      outcomes = o;
    });
    await waitFor(() => outcomes !== undefined, {
      timeoutMs: 2_000,
      message: "the waiting queries to settle",
    });
    expect(outcomes!.every((o) => o.status === "rejected")).toBe(true);
    const rows = await sql`select 1 as one`;
    expect(rows[0]?.one).toBe(1);
  });

  it("ends a client whose backend went away in the middle of a transaction", async () => {
    // Its own client, left out of `clients`: end() is what is tested, without the timeout
    // that would destroy the connection instead.
    const sql = postgres(database.url, { max: 1, backoff: () => 0.05, onnotice: () => {} });
    await sql`set application_name = 'pgjs-patch-d'`;
    const tx = sql.begin(async (t) => {
      await t`select pg_sleep(30)`;
    });
    await terminateBackendOf("pgjs-patch-d");
    await expect(tx).rejects.toThrow();

    let ended = false;
    void sql.end().then(() => {
      ended = true;
    });
    await waitFor(() => ended, { timeoutMs: 2_000, message: "the client to end" });
    expect(ended).toBe(true);
  });

  it("never runs a dead transaction's later queries on its connection once it serves others", async () => {
    const sql = client();
    await sql`set application_name = 'pgjs-patch-e'`;
    let resume: () => void = () => {};
    const resumed = new Promise<void>((resolve) => {
      resume = resolve;
    });
    let late: Promise<unknown> | undefined;
    const tx = sql.begin(async (t) => {
      await t`insert into marks (id) values ('first-e')`;
      await t`select pg_sleep(30)`.catch(() => undefined);
      await resumed;
      late = t`insert into marks (id) values ('late-e')`;
      await late;
    });
    const settled = tx.then(
      () => "committed",
      () => "rejected",
    );
    await terminateBackendOf("pgjs-patch-e");
    expect(await settled).toBe("rejected");
    // The pool's one connection is back and serves another query; only then does the dead
    // transaction's callback go on.
    expect((await sql`select 1 as one`)[0]?.one).toBe(1);
    resume();

    await waitFor(() => late !== undefined, { timeoutMs: 2_000, message: "the late insert to be issued" });
    await expect(late).rejects.toThrow();
    expect(await sql`select id from marks where id like '%-e'`).toEqual([]);
  });
});

describe("postgres-js on a reserved connection whose backend is gone", () => {
  it("rejects the next query instead of writing it to no socket", async () => {
    const { hostname, port } = new URL(database.url);
    let socket: Socket | undefined;
    const sql = postgres(database.url, {
      max: 1,
      onnotice: () => {},
      // postgres-js's `socket` option (missing from its types): the test sees it close.
      ...{ socket: () => (socket = connect(Number(port || 5432), hostname)) },
    });
    clients.push(sql);
    const reserved = await sql.reserve();
    await reserved`set application_name = 'pgjs-patch-g'`;
    let closed = false;
    socket!.once("close", () => {
      closed = true;
    });
    const sleeping = reserved`select pg_sleep(30)`.catch(() => undefined);
    await terminateBackendOf("pgjs-patch-g");
    await sleeping;
    await waitFor(() => closed, { timeoutMs: 2_000, message: "the socket to close" });

    await expect(reserved`select 1`).rejects.toMatchObject({ code: "CONNECTION_CLOSED" });
  });
});

describe("postgres-js after its socket closes while a write is buffered", () => {
  it("sends the next connection's startup message and serves the next query", async () => {
    const { hostname, port } = new URL(database.url);
    let socket: Socket | undefined;
    const sql = postgres(database.url, {
      max: 1,
      connect_timeout: 2,
      backoff: () => 0.05,
      onnotice: () => {},
      // postgres-js's `socket` option (missing from its types): the test holds the socket.
      ...{ socket: () => (socket = connect(Number(port || 5432), hostname)) },
    });
    clients.push(sql);
    await sql`select 1`;

    // A query is written into the connection's buffer, to go out when the event loop turns,
    // and the socket closes before that: the close a dying backend's reset can bring.
    const buffered = sql`select 2 as two`.execute();
    const outcome = buffered.then(
      () => "answered",
      () => "rejected",
    );
    for (let i = 0; i < 5; i++) await null; // the query reaches the connection
    const closing = socket!;
    closing.emit("close", false);
    closing.destroy();

    expect(await outcome).toBe("rejected");
    const rows = await sql`select 3 as three`;
    expect(rows[0]?.three).toBe(3);
  });
});
