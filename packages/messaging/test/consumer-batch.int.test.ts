import { randomBytes, randomUUID } from "node:crypto";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { headers, type NatsConnection } from "@nats-io/nats-core";
import { orderCancelledV1, orderPlacedV1 } from "@stockflow/contracts";
import {
  collectSpans,
  createTestDatabase,
  freePort,
  type PrivateNatsServer,
  startNatsServer,
  type TestDatabase,
  waitFor,
} from "@stockflow/testkit";
import { sql as dsql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/postgres-js";
import postgres from "postgres";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  type Consumer,
  type ConsumerOptions,
  connectNats,
  createConsumer,
  createOutbox,
  DLQ_HEADERS,
  ensureStreams,
  type Handler,
  handle,
} from "../src/index.js";
import { openTestDb, silentLogger, streamMessages } from "./support.js";

// Each test publishes its messages before its consumer starts, so the consumer receives them
// together and batches them; a fresh durable on a purged stream sees only that test's messages.

const spans = collectSpans();
let pg: TestDatabase;
let nats: PrivateNatsServer;
let nc: NatsConnection;
let h: Awaited<ReturnType<typeof openTestDb>>;
const consumers: Consumer[] = [];
let durables = 0;

const placed = (orderId: string) => ({
  orderId,
  customerId: "c-1",
  lines: [{ sku: "LAMP", qty: 1 }],
  placedAt: new Date().toISOString(),
});

async function publish(
  orderId: string,
  { id = randomUUID(), msgID = id, traceparent }: { id?: string; msgID?: string; traceparent?: string } = {},
) {
  const subject = orderPlacedV1.subject;
  const hdrs = headers();
  hdrs.set("ce-specversion", "1.0");
  hdrs.set("ce-id", id);
  hdrs.set("ce-source", "/test");
  hdrs.set("ce-type", subject);
  hdrs.set("ce-time", new Date().toISOString());
  hdrs.set("content-type", "application/json");
  if (traceparent) hdrs.set("traceparent", traceparent);
  await jetstream(nc).publish(subject, JSON.stringify(placed(orderId)), { headers: hdrs, msgID });
  return id;
}

/** Records, in the handler's transaction, which message ran in which transaction. */
const record = async (tx: Parameters<Handler["run"]>[0], note: string, key = ""): Promise<void> => {
  await tx.execute(dsql`insert into handled (note, key, txid) values (${note}, ${key}, txid_current())`);
};

async function start(
  handler: Handler,
  options: Partial<Omit<ConsumerOptions, "handlers">> = {},
): Promise<Consumer> {
  const consumer = createConsumer({
    service: "allocation",
    durable: `batch-test-${++durables}`,
    stream: "ORDERING",
    nc,
    db: h.db,
    logger: silentLogger,
    handlers: [handler],
    ...options,
  });
  consumers.push(consumer);
  await consumer.start();
  return consumer;
}

async function drained(consumer: Consumer) {
  await waitFor(async () => (await consumer.pending()) === 0, { timeoutMs: 20_000, message: "drained" });
}

async function handled() {
  return h.db.execute<{ id: number; note: string; key: string; txid: string }>(
    dsql`select id, note, key, txid::text as txid from handled order by id`,
  );
}

const count = async (q: ReturnType<typeof dsql>) => (await h.db.execute<{ n: number }>(q))[0]!.n;

beforeAll(async () => {
  pg = await createTestDatabase("consumer_batch");
  nats = await startNatsServer();
  h = await openTestDb(pg.url);
  await h.sql`create table handled (id serial primary key, note text not null, key text not null, txid bigint not null)`;
  await h.sql`create table parents (id int primary key)`;
  await h.sql`create table children (parent int not null references parents (id) deferrable initially deferred)`;
  nc = await connectNats({ servers: nats.url, name: "consumer-batch-test", logger: silentLogger });
  await ensureStreams(nc, ["ORDERING", "DLQ"]);
});

beforeEach(async () => {
  const jsm = await jetstreamManager(nc);
  await jsm.streams.purge("ORDERING");
  await jsm.streams.purge("DLQ");
  await h.sql`truncate handled, inbox, outbox`;
  spans.reset();
});

afterEach(async () => {
  for (const c of consumers.splice(0)) await c.stop();
});

afterAll(async () => {
  for (const c of consumers) await c.stop();
  await nc?.close();
  await h?.sql.end();
  await nats?.dispose();
  await pg?.drop();
  await spans.shutdown();
});

describe("batched consumer transactions", () => {
  it("handles messages received together in far fewer transactions than messages", async () => {
    for (let i = 0; i < 200; i++) await publish(`o-${i}`);
    const { xact_commit: before } = (
      await h.sql<
        { xact_commit: string }[]
      >`select xact_commit from pg_stat_database where datname = current_database()`
    )[0]!;
    const consumer = await start(
      handle(orderPlacedV1, (tx, e) => record(tx, e.orderId)),
      { batchSize: 64 },
    );
    await waitFor(async () => (await handled()).length === 200, { message: "200 handled" });
    await drained(consumer);

    const rows = await handled();
    expect(rows.map((r) => r.note)).toEqual(Array.from({ length: 200 }, (_, i) => `o-${i}`));
    const transactions = new Set(rows.map((r) => r.txid)).size;
    expect(transactions).toBeGreaterThanOrEqual(4);
    expect(transactions).toBeLessThanOrEqual(20);
    expect(await count(dsql`select count(*)::int as n from inbox`)).toBe(200);
    // The statistics collector lags a little; the count only grows.
    const commits = await waitFor(async () => {
      await h.sql`select pg_stat_clear_snapshot()`;
      const [row] = await h.sql<
        { xact_commit: string }[]
      >`select xact_commit from pg_stat_database where datname = current_database()`;
      const n = Number(row!.xact_commit) - Number(before);
      return n >= transactions ? n : undefined;
    });
    // Commits of this test's own queries (this probe, the pending() polls do not touch it) and
    // of the batches; far below one per message.
    expect(commits).toBeLessThan(100);
  });

  it("with batchSize 1 runs one transaction per message, as before batches", async () => {
    for (let i = 0; i < 20; i++) await publish(`single-${i}`);
    const consumer = await start(
      handle(orderPlacedV1, (tx, e) => record(tx, e.orderId)),
      { batchSize: 1 },
    );
    await waitFor(async () => (await handled()).length === 20, { message: "20 handled" });
    await drained(consumer);
    expect(new Set((await handled()).map((r) => r.txid)).size).toBe(20);
  });

  it("keeps each key's stream order, and a key in one transaction at a time, with concurrent batches", async () => {
    const keys = 40;
    const perKey = 10;
    for (let n = 0; n < perKey; n++) {
      for (let k = 0; k < keys; k++) await publish(`k${k}:${n}`);
    }
    const overlaps: string[] = [];
    let mostOpen = 0;
    const consumer = await start(
      handle(orderPlacedV1, async (tx, e) => {
        const [key] = e.orderId.split(":");
        // Held by this transaction until it ends; re-entrant within it. A second transaction
        // handling the same key while the first is open would not get it.
        const [row] = (await tx.execute(
          dsql`select pg_try_advisory_xact_lock(hashtext(${key!})) as ok,
                 (select count(*)::int from pg_stat_activity
                   where datname = current_database() and backend_xid is not null) as open`,
        )) as unknown as { ok: boolean; open: number }[];
        if (!row!.ok) overlaps.push(e.orderId);
        mostOpen = Math.max(mostOpen, row!.open);
        await record(tx, e.orderId, key);
      }),
      { concurrency: 4, batchSize: 8, keyOf: (_s, e) => (e as { orderId: string }).orderId.split(":")[0]! },
    );
    await waitFor(async () => (await handled()).length === keys * perKey, {
      timeoutMs: 20_000,
      message: "all handled",
    });
    await drained(consumer);

    expect(overlaps).toEqual([]);
    // Batches did run side by side (each holds a transaction id from its inbox insert on).
    expect(mostOpen).toBeGreaterThan(1);
    const rows = await handled();
    for (let k = 0; k < keys; k++) {
      const ofKey = rows.filter((r) => r.key === `k${k}`).map((r) => Number(r.note.split(":")[1]));
      expect(ofKey).toEqual(Array.from({ length: perKey }, (_, n) => n));
    }
    const transactions = new Set(rows.map((r) => r.txid)).size;
    expect(transactions).toBeLessThan((keys * perKey) / 4);
  });

  it("applies the rest of a batch once when one message fails, and dead-letters that one after maxAttempts", async () => {
    const calls: string[] = [];
    for (let i = 0; i < 30; i++) await publish(i === 12 ? "always-fails" : `ok-${i}`);
    const consumer = await start(
      handle(orderPlacedV1, async (tx, e) => {
        calls.push(e.orderId);
        await record(tx, e.orderId);
        if (e.orderId === "always-fails") throw new Error("the handler cannot cope");
      }),
      { maxAttempts: 3, retryDelaysMs: [20] },
    );
    const [dead] = await waitFor(
      async () => {
        const dlq = await streamMessages(nc, "DLQ");
        return dlq.length > 0 ? dlq : undefined;
      },
      { timeoutMs: 15_000, message: "the dead letter" },
    );
    await drained(consumer);

    const rows = await handled();
    expect(rows.map((r) => r.note).sort()).toEqual(
      Array.from({ length: 30 }, (_, i) => `ok-${i}`)
        .filter((n) => n !== "ok-12")
        .sort(),
    );
    // The others were batched, not run one per transaction.
    expect(new Set(rows.map((r) => r.txid)).size).toBeLessThan(10);
    expect(dead!.header?.get(DLQ_HEADERS.reason)).toBe("max_deliveries");
    expect(dead!.header?.get(DLQ_HEADERS.error)).toBe("the handler cannot cope");
    expect(dead!.header?.get(DLQ_HEADERS.deliveryCount)).toBe("3");
    // Blamed on its own handler's error, it ran once per delivery.
    expect(calls.filter((c) => c === "always-fails")).toHaveLength(3);
    expect(await count(dsql`select count(*)::int as n from inbox`)).toBe(29);
  });

  it("goes one message per transaction when the batch fails at commit, and isolates the bad one", async () => {
    for (let i = 0; i < 20; i++) await publish(i === 7 ? "orphan" : `fine-${i}`);
    let calls = 0;
    const consumer = await start(
      handle(orderPlacedV1, async (tx, e) => {
        calls++;
        await record(tx, e.orderId);
        // A deferred foreign key: the error comes from COMMIT, after every handler returned.
        if (e.orderId === "orphan") await tx.execute(dsql`insert into children (parent) values (-1)`);
      }),
      { maxAttempts: 2, retryDelaysMs: [20] },
    );
    const [dead] = await waitFor(
      async () => {
        const dlq = await streamMessages(nc, "DLQ");
        return dlq.length > 0 ? dlq : undefined;
      },
      { timeoutMs: 15_000, message: "the dead letter" },
    );
    await drained(consumer);

    expect((await handled()).map((r) => r.note).sort()).toEqual(
      Array.from({ length: 20 }, (_, i) => `fine-${i}`)
        .filter((n) => n !== "fine-7")
        .sort(),
    );
    expect(dead!.header?.get(DLQ_HEADERS.reason)).toBe("max_deliveries");
    expect(dead!.header?.get(DLQ_HEADERS.error)).toMatch(/foreign key/);
    // The batch with the orphan ran and rolled back; then each message ran alone.
    expect(calls).toBeGreaterThan(20);
  });

  it("never dead-letters a batch while the database is unreachable", async () => {
    for (let i = 0; i < 10; i++) await publish(`unreachable-${i}`);
    const nowhere = postgres(`postgres://postgres@127.0.0.1:${await freePort()}/none`, {
      max: 1,
      connect_timeout: 2,
      onnotice: () => {},
    });
    try {
      const consumer = await start(
        handle(orderPlacedV1, (tx, e) => record(tx, e.orderId)),
        { db: drizzle(nowhere), maxAttempts: 2, retryDelaysMs: [10] },
      );
      const jsm = await jetstreamManager(nc);
      // Ten messages delivered 30 times: past maxAttempts, when a dead letter would have been sent.
      await waitFor(
        async () =>
          (await jsm.consumers.info("ORDERING", `batch-test-${durables}`)).delivered.consumer_seq >= 30 ||
          (await streamMessages(nc, "DLQ")).length > 0,
        { timeoutMs: 15_000, message: "redeliveries" },
      );
      await consumer.stop();
      expect(await streamMessages(nc, "DLQ")).toHaveLength(0);
    } finally {
      await nowhere.end();
    }
  });

  it("applies a message once when copies of it arrive in one batch and in later ones", async () => {
    const id = randomUUID();
    // Distinct Nats-Msg-Ids get past the broker's dedup, as redeliveries and republishing do.
    for (let i = 0; i < 3; i++) await publish("o-dup", { id, msgID: `${id}-${i}` });
    for (let i = 0; i < 5; i++) await publish(`o-between-${i}`);
    await publish("o-dup", { id, msgID: `${id}-3` });
    const consumer = await start(handle(orderPlacedV1, (tx, e) => record(tx, e.orderId)));
    await waitFor(async () => (await handled()).length === 6, { message: "first batch" });
    await drained(consumer);
    expect(new Set((await handled()).map((r) => r.txid)).size).toBeLessThan(6);

    await publish("o-dup", { id, msgID: `${id}-later` });
    await publish("o-after");
    await waitFor(async () => (await handled()).some((r) => r.note === "o-after"), {
      message: "later batch",
    });
    await drained(consumer);

    const notes = (await handled()).map((r) => r.note);
    expect(notes.filter((n) => n === "o-dup")).toHaveLength(1);
    expect(notes).toHaveLength(7);
    expect(await count(dsql`select count(*)::int as n from inbox where message_id = ${id}`)).toBe(1);
  });

  it("runs each handler of a batch under its own message's trace", async () => {
    const traces = Array.from({ length: 20 }, (_, i) => ({
      orderId: `o-trace-${i}`,
      traceId: randomBytes(16).toString("hex"),
      spanId: randomBytes(8).toString("hex"),
    }));
    for (const t of traces) await publish(t.orderId, { traceparent: `00-${t.traceId}-${t.spanId}-01` });
    const outbox = createOutbox({ service: "allocation" });
    const consumer = await start(
      handle(orderPlacedV1, async (tx, e) => {
        await record(tx, e.orderId);
        await outbox.enqueue(tx, orderCancelledV1, {
          orderId: e.orderId,
          cancelledAt: new Date().toISOString(),
        });
      }),
    );
    await waitFor(async () => (await handled()).length === traces.length, { message: "all handled" });
    await drained(consumer);

    expect(new Set((await handled()).map((r) => r.txid)).size).toBeLessThan(traces.length);
    const enqueued = await h.db.execute<{ orderId: string; traceparent: string }>(
      dsql`select payload->>'orderId' as "orderId", headers->>'traceparent' as traceparent from outbox`,
    );
    const processSpans = spans.byName(`process ${orderPlacedV1.subject}`);
    for (const t of traces) {
      const row = enqueued.find((r) => r.orderId === t.orderId)!;
      const span = processSpans.find((s) => s.spanContext().traceId === t.traceId)!;
      expect(span.parentSpanContext?.spanId).toBe(t.spanId);
      // The event a handler enqueues is a child of its own message's consumer span.
      expect(row.traceparent).toBe(`00-${t.traceId}-${span.spanContext().spanId}-01`);
    }
  });
});
