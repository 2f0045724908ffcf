import { randomUUID } from "node:crypto";
import { createTestDatabase, type TestDatabase } from "@stockflow/testkit";
import client from "prom-client";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createRetention, messagingRetentionRules } from "../src/index.js";
import { openTestDb, silentLogger } from "./support.js";

let pg: TestDatabase;
let h: Awaited<ReturnType<typeof openTestDb>>;
const HOUR = 3_600_000;

beforeAll(async () => {
  pg = await createTestDatabase("retention");
  h = await openTestDb(pg.url);
});

afterAll(async () => {
  await h?.sql.end({ timeout: 1 });
  await pg?.drop();
});

beforeEach(async () => {
  await h.sql`truncate outbox, inbox`;
});

/** `n` outbox rows created `ageHours` ago, published then unless `pending`. */
async function outboxRows(n: number, ageHours: number, { pending = false } = {}) {
  await h.sql`
    insert into outbox (event_id, subject, payload, headers, created_at, published_at)
    select gen_random_uuid(), 'ordering.order_placed.v1', '{}', '{}',
           now() - make_interval(hours => ${ageHours}),
           case when ${pending} then null else now() - make_interval(hours => ${ageHours}) end
    from generate_series(1, ${n})`;
}

async function inboxRows(n: number, ageHours: number) {
  await h.sql`
    insert into inbox (consumer, message_id, subject, processed_at)
    select 'allocation-ordering', ${randomUUID()} || '-' || g, 'ordering.order_placed.v1',
           now() - make_interval(hours => ${ageHours})
    from generate_series(1, ${n}) g`;
}

const count = async (table: string, where = "true") =>
  Number((await h.sql.unsafe(`select count(*)::int as n from ${table} where ${where}`))[0]?.n);

const retention = (batchSize = 100) =>
  createRetention({
    service: "ordering",
    sql: h.sql,
    logger: silentLogger,
    rules: messagingRetentionRules({ outboxMs: 2 * HOUR, inboxMs: 24 * HOUR }),
    batchSize,
  });

describe("retention", () => {
  it("deletes published outbox rows and inbox ids past their retention, in batches, and nothing else", async () => {
    await outboxRows(350, 3);
    await outboxRows(20, 1);
    await outboxRows(30, 5, { pending: true });
    await inboxRows(250, 25);
    await inboxRows(40, 23);

    expect(await retention(100).sweep()).toEqual({ outbox: 350, inbox: 250 });

    expect(await count("outbox", "published_at is not null")).toBe(20);
    // An unpublished row stays, however old: it has yet to be published.
    expect(await count("outbox", "published_at is null")).toBe(30);
    expect(await count("inbox")).toBe(40);
  });

  it("counts the rows it deletes per table in a Prometheus counter", async () => {
    const deleted = async (table: string) =>
      (await client.register.getSingleMetric("stockflow_retention_deleted_rows_total")?.get())?.values.find(
        (v) => v.labels.table === table && v.labels.service === "ordering",
      )?.value ?? 0;
    const before = { outbox: await deleted("outbox"), inbox: await deleted("inbox") };
    await outboxRows(7, 3);
    await inboxRows(5, 30);
    await retention().sweep();
    expect(await deleted("outbox")).toBe(before.outbox + 7);
    expect(await deleted("inbox")).toBe(before.inbox + 5);
    expect(await client.register.metrics()).toMatch(
      /stockflow_retention_deleted_rows_total\{service="ordering",table="outbox"\}/,
    );
  });

  it("leaves the sweep to the replica already sweeping", async () => {
    await outboxRows(10, 3);
    const other = await h.sql.reserve();
    try {
      await other`begin`;
      await other`select pg_advisory_xact_lock(hashtext('retention:ordering'))`;
      expect(await retention().sweep()).toEqual({});
      expect(await count("outbox")).toBe(10);
      await other`commit`;
    } finally {
      other.release();
    }
    expect(await retention().sweep()).toMatchObject({ outbox: 10 });
  });

  it("passes over rows another transaction holds instead of waiting for them", async () => {
    await outboxRows(5, 3);
    const other = await h.sql.reserve();
    try {
      await other`begin`;
      await other`select id from outbox order by id limit 1 for update`;
      expect(await retention().sweep()).toMatchObject({ outbox: 4 });
      await other`rollback`;
    } finally {
      other.release();
    }
  });

  it("finds the expired rows on indexes", async () => {
    const plan = async (query: string) => {
      const rows = await h.sql.begin(async (tx) => {
        await tx`set local enable_seqscan = off`;
        return tx.unsafe(`explain ${query}`);
      });
      return rows.map((r) => Object.values(r)[0]).join("\n");
    };
    expect(
      await plan(
        "select ctid from outbox where published_at < now() - interval '1 hour' and (published_at is not null) order by published_at limit 500",
      ),
    ).toContain("outbox_published_idx");
    expect(
      await plan(
        "select ctid from inbox where processed_at < now() - interval '1 hour' order by processed_at limit 500",
      ),
    ).toContain("inbox_processed_idx");
  });
});
