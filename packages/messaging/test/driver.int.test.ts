import { createTestDatabase, type TestDatabase } from "@stockflow/testkit";
import { sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/postgres-js";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clientOf, isTransaction, sendPrepared } from "../src/driver.js";

// driver.ts is the kit's only reach under drizzle (its `$client`, its session's `client`).
// These fail when a drizzle upgrade moves them.

let pg: TestDatabase;
let client: postgres.Sql;
let db: ReturnType<typeof drizzle>;

beforeAll(async () => {
  pg = await createTestDatabase("messaging_driver");
  client = postgres(pg.url, { max: 2, onnotice: () => {} });
  db = drizzle(client);
  await client`create table notes (id int primary key)`;
});

afterAll(async () => {
  await client?.end();
  await pg?.drop();
});

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
