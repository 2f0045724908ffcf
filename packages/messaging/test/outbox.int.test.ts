import type { NatsConnection } from "@nats-io/nats-core";
import { context, trace } from "@opentelemetry/api";
import { orderPlacedV1 } from "@stockflow/contracts";
import {
  collectSpans,
  createTestDatabase,
  type PrivateNatsServer,
  startNatsServer,
  type TestDatabase,
  waitFor,
} from "@stockflow/testkit";
import { sql as dsql } from "drizzle-orm";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  ContractViolation,
  connectNats,
  createOutbox,
  ensureStreams,
  outbox,
  outboxRowsOf,
} from "../src/index.js";
import { openTestDb, silentLogger, streamMessages, testRelay } from "./support.js";

const spans = collectSpans();
let pg: TestDatabase;
let nats: PrivateNatsServer;
let nc: NatsConnection;
let handle: Awaited<ReturnType<typeof openTestDb>>;
const ordering = createOutbox({ service: "ordering" });

const placed = (orderId: string) => ({
  orderId,
  customerId: "c-1",
  lines: [{ sku: "RED-CHAIR", qty: 2 }],
  placedAt: new Date().toISOString(),
});

beforeAll(async () => {
  pg = await createTestDatabase("outbox");
  nats = await startNatsServer();
  handle = await openTestDb(pg.url);
  nc = await connectNats({ servers: nats.url, name: "outbox-test", logger: silentLogger });
  await ensureStreams(nc, ["ORDERING"]);
});

afterAll(async () => {
  await nc?.close();
  await handle?.sql.end();
  await nats?.dispose();
  await pg?.drop();
  await spans.shutdown();
});

beforeEach(async () => {
  spans.reset();
});

const relayFor = () => testRelay(handle, nc);

async function messagesFor(orderId: string) {
  return (await streamMessages(nc, "ORDERING")).filter(
    (m) => m.json<{ orderId: string }>().orderId === orderId,
  );
}

describe("outbox and relay", () => {
  it("refuses an event that violates its contract before it is stored", async () => {
    await expect(
      handle.db.transaction((tx) => ordering.enqueue(tx, orderPlacedV1, { ...placed("o-bad"), lines: [] })),
    ).rejects.toBeInstanceOf(ContractViolation);
    const rows = await handle.db.select().from(outbox);
    expect(rows.filter((r) => (r.payload as { orderId: string }).orderId === "o-bad")).toHaveLength(0);
  });

  it("publishes a committed event once, with the CloudEvents headers, and never a rolled-back one", async () => {
    const relay = relayFor();
    relay.start();
    const id = await handle.db.transaction((tx) => ordering.enqueue(tx, orderPlacedV1, placed("o-1")));
    await handle.db
      .transaction(async (tx) => {
        await ordering.enqueue(tx, orderPlacedV1, placed("o-rolled-back"));
        throw new Error("rollback");
      })
      .catch(() => {});
    await waitFor(async () => (await messagesFor("o-1")).length === 1, { message: "o-1 published" });
    await relay.stop();
    const [m] = await messagesFor("o-1");
    expect(m!.subject).toBe("ordering.order_placed.v1");
    const h = m!.header!;
    expect(h.get("ce-id")).toBe(id);
    expect(h.get("Nats-Msg-Id")).toBe(id);
    expect(h.get("ce-specversion")).toBe("1.0");
    expect(h.get("ce-source")).toBe("/ordering");
    expect(h.get("ce-type")).toBe("ordering.order_placed.v1");
    expect(Date.parse(h.get("ce-time"))).not.toBeNaN();
    expect(h.get("content-type")).toBe("application/json");
    expect(h.get("ce-datacontenttype")).toBe("application/json");
    expect(h.get("traceparent")).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/);
    expect(await messagesFor("o-rolled-back")).toHaveLength(0);
    expect((await relay.backlog()).pending).toBe(0);
  });

  it("publishes exactly once when the relay dies between publishing and marking the row", async () => {
    const first = relayFor();
    const id = await handle.db.transaction((tx) => ordering.enqueue(tx, orderPlacedV1, placed("o-crash")));
    await first.flush();
    // What a crash after the publish and before the commit of the mark leaves behind:
    await handle.db.execute(dsql`update outbox set published_at = null where event_id = ${id}`);
    const second = relayFor();
    await second.flush();
    expect(await messagesFor("o-crash")).toHaveLength(1);
    expect((await second.backlog()).pending).toBe(0);
  });

  it("keeps the order in which events were written", async () => {
    const relay = relayFor();
    for (let i = 0; i < 30; i++) {
      await handle.db.transaction((tx) => ordering.enqueue(tx, orderPlacedV1, placed(`o-seq-${i}`)));
    }
    await relay.flush();
    const ids = (await streamMessages(nc, "ORDERING"))
      .map((m) => m.json<{ orderId: string }>().orderId)
      .filter((id) => id.startsWith("o-seq-"));
    expect(ids).toEqual(Array.from({ length: 30 }, (_, i) => `o-seq-${i}`));
  });

  it("keeps that order and publishes each event once with two relays running at once", async () => {
    const relays = [relayFor(), relayFor()];
    for (const r of relays) r.start();
    try {
      for (let i = 0; i < 60; i++) {
        await handle.db.transaction((tx) => ordering.enqueue(tx, orderPlacedV1, placed(`o-two-${i}`)));
      }
      await waitFor(async () => (await relays[0]!.backlog()).pending === 0, {
        message: "every row published",
      });
    } finally {
      await Promise.all(relays.map((r) => r.stop()));
    }
    const ids = (await streamMessages(nc, "ORDERING"))
      .map((m) => m.json<{ orderId: string }>().orderId)
      .filter((id) => id.startsWith("o-two-"));
    expect(ids).toEqual(Array.from({ length: 60 }, (_, i) => `o-two-${i}`));
    // Each batch ended its transaction: no connection is left idle in one.
    const [open] = await handle.sql<{ n: number }[]>`
      select count(*)::int as n from pg_stat_activity
      where datname = current_database() and state like 'idle in transaction%'`;
    expect(open!.n).toBe(0);
  });

  // Rows written without a NOTIFY (as ordering's intake writes them): only wake() tells.
  const writeQuietly = async (orderId: string) => {
    const row = outboxRowsOf("ordering", orderPlacedV1, placed(orderId))[0]!;
    await handle.sql`insert into outbox (event_id, subject, payload, headers)
      values (${row.eventId}::uuid, ${row.subject}, ${JSON.stringify(row.payload)}::jsonb, ${JSON.stringify(row.headers)}::jsonb)`;
  };
  const debugLines: string[] = [];
  const quietRelay = () =>
    testRelay(handle, nc, {
      logger: {
        debug: (_obj: object, msg?: string) => debugLines.push(msg ?? ""),
        info: () => {},
        warn: () => {},
        error: () => {},
      },
      pollIntervalMs: 60_000,
    });

  it("publishes at once when the writing process wakes it, with no NOTIFY and no poll due", async () => {
    const relay = quietRelay();
    relay.start();
    try {
      await waitFor(async () => (await relay.backlog()).pending === 0, { message: "earlier rows published" });
      await writeQuietly("o-woken");
      relay.wake();
      // Well within the 60 s poll: only the wake can have done it. (The row is marked once
      // the broker acked it.)
      await waitFor(async () => (await relay.backlog()).pending === 0, {
        timeoutMs: 5000,
        message: "the woken relay published the row",
      });
    } finally {
      await relay.stop();
    }
    expect(await messagesFor("o-woken")).toHaveLength(1);
  });

  it("tries again soon when another replica's relay held the lock as it was woken", async () => {
    const relay = quietRelay();
    relay.start();
    try {
      await waitFor(async () => (await relay.backlog()).pending === 0, { message: "earlier rows published" });
      // Another replica mid-batch: its transaction holds the lock and began before our row.
      const other = await handle.sql.reserve();
      try {
        await other`begin`;
        await other`select pg_advisory_xact_lock(hashtext(${"outbox:ordering"}))`;
        await writeQuietly("o-after-busy");
        relay.wake();
        await waitFor(() => debugLines.some((l) => l.includes("another relay holds the lock")), {
          message: "the relay found the lock taken",
        });
        expect((await relay.backlog()).pending).toBe(1);
        await other`commit`;
      } finally {
        other.release();
      }
      await waitFor(async () => (await relay.backlog()).pending === 0, {
        timeoutMs: 5000,
        message: "published once the lock was free, long before the next poll",
      });
    } finally {
      await relay.stop();
    }
    expect(await messagesFor("o-after-busy")).toHaveLength(1);
  });

  it("catches up after NATS was down", async () => {
    const relay = relayFor();
    relay.start();
    await nats.stop();
    await handle.db.transaction((tx) => ordering.enqueue(tx, orderPlacedV1, placed("o-while-down")));
    expect((await relay.backlog()).pending).toBeGreaterThan(0);
    await nats.start();
    await waitFor(async () => (await messagesFor("o-while-down")).length === 1, {
      timeoutMs: 20_000,
      message: "event published after NATS came back",
    });
    await relay.stop();
  });

  it("publishes under the trace context that was current when the event was written", async () => {
    const relay = relayFor();
    const writer = trace.getTracer("test").startSpan("POST /orders");
    await context.with(trace.setSpan(context.active(), writer), () =>
      handle.db.transaction((tx) => ordering.enqueue(tx, orderPlacedV1, placed("o-traced"))),
    );
    writer.end();
    await relay.flush();
    const send = spans.byName("send ordering.order_placed.v1").at(-1)!;
    expect(send.spanContext().traceId).toBe(writer.spanContext().traceId);
    expect(send.parentSpanContext?.spanId).toBe(writer.spanContext().spanId);
    const [m] = await messagesFor("o-traced");
    expect(m!.header!.get("traceparent")).toContain(send.spanContext().spanId);
  });
});
