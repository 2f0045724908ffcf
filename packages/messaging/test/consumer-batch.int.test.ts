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
  handleBatch,
  type Tx,
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
  {
    id = randomUUID(),
    msgID = id,
    traceparent,
    cancelled = false,
  }: { id?: string; msgID?: string; traceparent?: string; cancelled?: boolean } = {},
) {
  const contract = cancelled ? orderCancelledV1 : orderPlacedV1;
  const subject = contract.subject;
  const hdrs = headers();
  hdrs.set("ce-specversion", "1.0");
  hdrs.set("ce-id", id);
  hdrs.set("ce-source", "/test");
  hdrs.set("ce-type", subject);
  hdrs.set("ce-time", new Date().toISOString());
  hdrs.set("content-type", "application/json");
  if (traceparent) hdrs.set("traceparent", traceparent);
  const body = cancelled ? { orderId, cancelledAt: new Date().toISOString() } : placed(orderId);
  await jetstream(nc).publish(subject, JSON.stringify(body), { headers: hdrs, msgID });
  return id;
}

/** Records, in the handler's transaction, which message ran in which transaction. */
const record = async (tx: Tx, note: string, key = ""): Promise<void> => {
  await tx.execute(dsql`insert into handled (note, key, txid) values (${note}, ${key}, txid_current())`);
};

async function start(
  handler: Handler | Handler[],
  options: Partial<Omit<ConsumerOptions, "handlers">> = {},
): Promise<Consumer> {
  const consumer = createConsumer({
    service: "allocation",
    durable: `batch-test-${++durables}`,
    stream: "ORDERING",
    nc,
    db: h.db,
    logger: silentLogger,
    handlers: [handler].flat(),
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

    await expectEnqueuedUnderOwnSpans(traces);
  });
});

describe("lingering", () => {
  it("gathers messages that trickle in within lingerMs into one transaction", async () => {
    const consumer = await start(
      handle(orderPlacedV1, (tx, e) => record(tx, e.orderId)),
      { lingerMs: 1000 },
    );
    for (let i = 0; i < 5; i++) await publish(`linger-${i}`);
    await drained(consumer);
    const rows = await handled();
    expect(rows.map((r) => r.note)).toEqual(Array.from({ length: 5 }, (_, i) => `linger-${i}`));
    expect(new Set(rows.map((r) => r.txid)).size).toBe(1);
  });

  it("starts a full batch at once, and runs what lingers when it stops", async () => {
    const consumer = await start(
      handle(orderPlacedV1, (tx, e) => record(tx, e.orderId)),
      { lingerMs: 60_000, batchSize: 3 },
    );
    for (let i = 0; i < 4; i++) await publish(`full-${i}`);
    // Far sooner than the linger: the first three make a full batch.
    await waitFor(async () => (await handled()).length === 3, {
      timeoutMs: 10_000,
      message: "a full batch ran",
    });
    await consumer.stop();
    const rows = await handled();
    expect(rows.map((r) => r.note)).toEqual(["full-0", "full-1", "full-2", "full-3"]);
    expect(new Set(rows.map((r) => r.txid)).size).toBe(2);
  });
});

describe("batch handlers", () => {
  /** A batch handler that records its calls and each item, in the call's transaction. */
  const recording = (calls: string[][], onCall?: (ids: string[]) => void) =>
    handleBatch([orderPlacedV1, orderCancelledV1], async (tx, items) => {
      const ids = items.map((i) => (i.contract === orderCancelledV1 ? `cancel:` : "") + i.event.orderId);
      calls.push(ids);
      for (const id of ids) await record(tx, id);
      onCall?.(ids);
    });

  it("get the messages received together in one call, in stream order, with their contracts", async () => {
    const published: string[] = [];
    for (let i = 0; i < 30; i++) {
      const cancelled = i % 3 === 2;
      await publish(`b-${i}`, { cancelled });
      published.push(`${cancelled ? "cancel:" : ""}b-${i}`);
    }
    const calls: string[][] = [];
    const consumer = await start(recording(calls));
    await waitFor(async () => (await handled()).length === 30, { message: "30 handled" });
    await drained(consumer);

    expect(calls.flat()).toEqual(published);
    expect(calls.length).toBeLessThan(10);
    expect(Math.max(...calls.map((c) => c.length))).toBeGreaterThan(1);
    expect((await handled()).map((r) => r.note)).toEqual(published);
  });

  it("are not given a message twice when copies of it arrive in one batch and in later ones", async () => {
    const id = randomUUID();
    await publish("o-first");
    for (let i = 0; i < 3; i++) await publish("o-dup", { id, msgID: `${id}-${i}` });
    await publish("o-between");
    await publish("o-dup", { id, msgID: `${id}-3` });
    await publish("o-last");
    const calls: string[][] = [];
    const consumer = await start(recording(calls));
    await waitFor(async () => (await handled()).length === 4, { message: "first batch" });
    await drained(consumer);
    const firstCalls = calls.length;
    await publish("o-dup", { id, msgID: `${id}-later` });
    await publish("o-after");
    await waitFor(async () => (await handled()).some((r) => r.note === "o-after"), { message: "later" });
    await drained(consumer);

    expect((await handled()).map((r) => r.note)).toEqual([
      "o-first",
      "o-dup",
      "o-between",
      "o-last",
      "o-after",
    ]);
    // The later copy, a first delivery, ran once in an optimistic transaction (handlers start
    // before the inbox answers) that the inbox's answer rolled back; its batch then ran again
    // without it.
    const later = calls.slice(firstCalls).flat();
    expect(later.filter((n) => n === "o-dup")).toHaveLength(1);
    expect(later.at(-1)).toBe("o-after");
    expect(await count(dsql`select count(*)::int as n from inbox where message_id = ${id}`)).toBe(1);
  });

  it("start behind the inbox insert, without waiting for its answer", async () => {
    // Another transaction holds an uncommitted inbox row with the message's id, so the
    // consumer's inbox insert waits for it; the handler is called all the same.
    const id = randomUUID();
    const blocker = await h.sql.reserve();
    try {
      await blocker`begin`;
      await blocker`insert into inbox (consumer, message_id, subject) values (${`batch-test-${durables + 1}`}, ${id}, 'test')`;
      await publish("o-waiting", { id });
      const calls: string[][] = [];
      const consumer = await start(recording(calls));
      await waitFor(() => calls.length > 0, {
        timeoutMs: 5_000,
        message: "the handler to be called while the inbox insert waits",
      });
      expect(await handled()).toEqual([]);
      await blocker`rollback`;
      await waitFor(async () => (await handled()).length === 1, {
        message: "handled once the blocker rolled back",
      });
      await drained(consumer);
      expect(calls).toEqual([["o-waiting"]]);
    } finally {
      blocker.release();
    }
  });

  it("dead-letter a poison message of a call alone, and apply the others", async () => {
    for (let i = 0; i < 30; i++) await publish(i === 12 ? "always-fails" : `ok-${i}`);
    const calls: string[][] = [];
    const consumer = await start(
      recording(calls, (ids) => {
        if (ids.includes("always-fails")) throw new Error("the batch cannot cope");
      }),
      { maxAttempts: 3, retryDelaysMs: [20] },
    );
    const dlq = await waitFor(
      async () => {
        const dead = await streamMessages(nc, "DLQ");
        return dead.length > 0 ? dead : undefined;
      },
      { timeoutMs: 15_000, message: "the dead letter" },
    );
    await drained(consumer);

    const expected = Array.from({ length: 30 }, (_, i) => `ok-${i}`).filter((n) => n !== "ok-12");
    expect((await handled()).map((r) => r.note).sort()).toEqual(expected.sort());
    expect(await count(dsql`select count(*)::int as n from inbox`)).toBe(29);
    expect(await streamMessages(nc, "DLQ")).toHaveLength(1);
    const [dead] = dlq;
    expect(JSON.parse(new TextDecoder().decode(dead!.data)).orderId).toBe("always-fails");
    expect(dead!.header?.get(DLQ_HEADERS.reason)).toBe("max_deliveries");
    expect(dead!.header?.get(DLQ_HEADERS.error)).toBe("the batch cannot cope");
    // Its last deliveries ran alone: a call of one item names its culprit.
    expect(calls.filter((c) => c.includes("always-fails")).at(-1)).toEqual(["always-fails"]);
  });

  it("keep stream order beside a per-message handler, each running where its messages stand", async () => {
    const published: string[] = [];
    for (let i = 0; i < 24; i++) {
      const cancelled = i % 5 === 3 || i % 5 === 4;
      await publish(`m-${i}`, { cancelled });
      published.push(`${cancelled ? "cancel:" : ""}m-${i}`);
    }
    const calls: string[][] = [];
    const consumer = await start([
      handleBatch([orderPlacedV1], async (tx, items) => {
        calls.push(items.map((i) => i.event.orderId));
        for (const i of items) await record(tx, i.event.orderId);
      }),
      handle(orderCancelledV1, async (tx, e) => {
        calls.push([`cancel:${e.orderId}`]);
        await record(tx, `cancel:${e.orderId}`);
      }),
    ]);
    await waitFor(async () => (await handled()).length === 24, { message: "24 handled" });
    await drained(consumer);

    expect((await handled()).map((r) => r.note)).toEqual(published);
    expect(calls.flat()).toEqual(published);
    // Runs of placed orders went together; each cancellation ran on its own.
    expect(calls.some((c) => c.length === 3)).toBe(true);
    for (const c of calls) if (c[0]!.startsWith("cancel:")) expect(c).toHaveLength(1);
    expect(new Set((await handled()).map((r) => r.txid)).size).toBeLessThan(24);
  });

  it("run each item's work under its own message's trace with item.within", async () => {
    const traces = Array.from({ length: 12 }, (_, i) => ({
      orderId: `o-btrace-${i}`,
      traceId: randomBytes(16).toString("hex"),
      spanId: randomBytes(8).toString("hex"),
    }));
    for (const t of traces) await publish(t.orderId, { traceparent: `00-${t.traceId}-${t.spanId}-01` });
    const outbox = createOutbox({ service: "allocation" });
    const consumer = await start(
      handleBatch([orderPlacedV1], async (tx, items) => {
        for (const item of items) {
          await record(tx, item.event.orderId);
          await item.within(() =>
            outbox.enqueue(tx, orderCancelledV1, {
              orderId: item.event.orderId,
              cancelledAt: new Date().toISOString(),
            }),
          );
        }
      }),
    );
    await waitFor(async () => (await handled()).length === traces.length, { message: "all handled" });
    await drained(consumer);

    await expectEnqueuedUnderOwnSpans(traces);
  });
});

/**
 * Messages were handled in fewer transactions than messages, and the event each handler
 * enqueued is a child of its own message's consumer span (itself a child of the producer's).
 */
async function expectEnqueuedUnderOwnSpans(traces: { orderId: string; traceId: string; spanId: string }[]) {
  expect(new Set((await handled()).map((r) => r.txid)).size).toBeLessThan(traces.length);
  const enqueued = await h.db.execute<{ orderId: string; traceparent: string }>(
    dsql`select payload->>'orderId' as "orderId", headers->>'traceparent' as traceparent from outbox`,
  );
  const processSpans = spans.byName(`process ${orderPlacedV1.subject}`);
  for (const t of traces) {
    const row = enqueued.find((r) => r.orderId === t.orderId)!;
    const span = processSpans.find((s) => s.spanContext().traceId === t.traceId)!;
    expect(span.parentSpanContext?.spanId).toBe(t.spanId);
    expect(row.traceparent).toBe(`00-${t.traceId}-${span.spanContext().spanId}-01`);
  }
}
