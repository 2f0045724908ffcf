import postgres from "postgres";
import { afterAll, describe, expect, it } from "vitest";
import {
  adminDatabaseUrl,
  createTestDatabase,
  portAcceptsConnections,
  startNatsServer,
  waitFor,
} from "../src/index.js";

describe("testkit", () => {
  it("creates a database that can be used and dropped", async () => {
    const db = await createTestDatabase("testkit");
    const sql = postgres(db.url, { max: 1 });
    const [row] = await sql`select current_database() as name`;
    expect(row?.name).toBe(db.name);
    await sql.end();
    await db.drop();
    const admin = postgres(adminDatabaseUrl(), { max: 1 });
    const left = await admin`select 1 from pg_database where datname = ${db.name}`;
    await admin.end();
    expect(left.length).toBe(0);
  });

  const servers: Array<{ dispose(): Promise<void> }> = [];
  afterAll(async () => {
    for (const s of servers) await s.dispose();
  });

  it("starts, stops and restarts a private nats-server on its own port", async () => {
    const nats = await startNatsServer();
    servers.push(nats);
    expect(await portAcceptsConnections(nats.port)).toBe(true);
    await nats.stop();
    expect(await portAcceptsConnections(nats.port)).toBe(false);
    await nats.start();
    expect(await portAcceptsConnections(nats.port)).toBe(true);
  });

  it("waitFor reports what it waited for when the deadline passes", async () => {
    await expect(waitFor(() => false, { timeoutMs: 50, message: "the impossible" })).rejects.toThrow(
      /the impossible/,
    );
    let n = 0;
    await expect(waitFor(() => (++n >= 3 ? n : undefined))).resolves.toBe(3);
  });
});

describe("private servers", () => {
  it("runs a private PostgreSQL that can be stopped and started again with its data", async () => {
    const { startPostgresServer } = await import("../src/index.js");
    const pg = await startPostgresServer();
    try {
      const sql = postgres(pg.url, { max: 1 });
      await sql`create table kept (n int)`;
      await sql`insert into kept values (7)`;
      await sql.end();
      await pg.stop();
      expect(await portAcceptsConnections(pg.port)).toBe(false);
      await pg.start();
      const again = postgres(pg.url, { max: 1 });
      const [row] = await again`select n from kept`;
      await again.end();
      expect(row?.n).toBe(7);
    } finally {
      await pg.dispose();
    }
  });
});
