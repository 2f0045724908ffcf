import { randomUUID } from "node:crypto";
import { jetstream } from "@nats-io/jetstream";
import { headers, type NatsConnection } from "@nats-io/nats-core";
import { orderCancelledV1, orderPlacedV1 } from "@stockflow/contracts";
import {
  collectSpans,
  createTestDatabase,
  type PrivateNatsServer,
  startNatsServer,
  type TestDatabase,
  waitFor,
} from "@stockflow/testkit";
import { sql as dsql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type Consumer,
  connectNats,
  createConsumer,
  createOutbox,
  createOutboxRelay,
  DLQ_HEADERS,
  ensureStreams,
  handle,
} from "../src/index.js";
import { openTestDb, silentLogger, streamMessages } from "./support.js";

const spans = collectSpans();
let pg: TestDatabase;
let nats: PrivateNatsServer;
let nc: NatsConnection;
let h: Awaited<ReturnType<typeof openTestDb>>;
let consumer: Consumer;
const seen: string[] = [];

const placed = (orderId: string) => ({
  orderId,
  customerId: "c-1",
  lines: [{ sku: "LAMP", qty: 1 }],
  placedAt: new Date().toISOString(),
});

function cloudEventHeaders(subject: string, id: string = randomUUID()) {
  const hdrs = headers();
  hdrs.set("ce-specversion", "1.0");
  hdrs.set("ce-id", id);
  hdrs.set("ce-source", "/test");
  hdrs.set("ce-type", subject);
  hdrs.set("ce-time", new Date().toISOString());
  hdrs.set("content-type", "application/json");
  return hdrs;
}

async function publishRaw(subject: string, body: string, id: string = randomUUID(), msgID = id) {
  await jetstream(nc).publish(subject, body, { headers: cloudEventHeaders(subject, id), msgID });
  return id;
}

const effects = async (note: string) =>
  (await h.db.execute<{ n: number }>(dsql`select count(*)::int as n from effects where note = ${note}`))[0]!
    .n;

beforeAll(async () => {
  pg = await createTestDatabase("consumer");
  nats = await startNatsServer();
  h = await openTestDb(pg.url);
  nc = await connectNats({ servers: nats.url, name: "consumer-test", logger: silentLogger });
  await ensureStreams(nc, ["ORDERING", "WAREHOUSE", "DLQ"]);
  consumer = createConsumer({
    service: "allocation",
    durable: "allocation-ordering",
    stream: "ORDERING",
    nc,
    db: h.db,
    logger: silentLogger,
    concurrency: 4,
    keyOf: (_s, e) => (e as { orderId: string }).orderId,
    maxAttempts: 3,
    retryDelaysMs: [20],
    handlers: [
      handle(orderPlacedV1, async (tx, event) => {
        seen.push(event.orderId);
        if (event.orderId.startsWith("always-fails")) throw new Error("the handler cannot cope");
        await tx.execute(dsql`insert into effects (note) values (${event.orderId})`);
      }),
      handle(orderCancelledV1, async (tx, event) => {
        await tx.execute(dsql`insert into effects (note) values (${`cancelled:${event.orderId}`})`);
      }),
    ],
  });
  await consumer.start();
});

afterAll(async () => {
  await consumer?.stop();
  await nc?.close();
  await h?.sql.end();
  await nats?.dispose();
  await pg?.drop();
  await spans.shutdown();
});

async function deadLetters() {
  return (await streamMessages(nc, "DLQ")).map((m) => ({
    subject: m.subject,
    data: new TextDecoder().decode(m.data),
    header: (k: string) => m.header?.get(k) ?? "",
  }));
}

describe("consumer runner", () => {
  it("handles a message delivered three times once", async () => {
    const id = randomUUID();
    const body = JSON.stringify(placed("o-dup"));
    // Distinct Nats-Msg-Ids get past the broker's dedup, as redeliveries and republishing do.
    for (let i = 0; i < 3; i++) await publishRaw("ordering.order_placed.v1", body, id, `${id}-${i}`);
    await publishRaw("ordering.order_placed.v1", JSON.stringify(placed("o-after-dup")));
    await waitFor(async () => (await effects("o-after-dup")) === 1, { message: "the message behind" });
    await waitFor(async () => (await consumer.pending()) === 0, { message: "consumer drained" });
    expect(await effects("o-dup")).toBe(1);
    const inbox = await h.db.execute<{ n: number }>(
      dsql`select count(*)::int as n from inbox where message_id = ${id}`,
    );
    expect(inbox[0]!.n).toBe(1);
  });

  it("dead-letters each kind of poison message with why, and goes on with the next", async () => {
    const badJson = await publishRaw("ordering.order_placed.v1", "{not json");
    const badSchema = await publishRaw(
      "ordering.order_placed.v1",
      JSON.stringify({ orderId: "x", lines: "many" }),
    );
    const unknownVersion = await publishRaw("ordering.order_placed.v9", JSON.stringify(placed("o-v9")));
    const throwing = await publishRaw("ordering.order_placed.v1", JSON.stringify(placed("always-fails-1")));
    await publishRaw("ordering.order_placed.v1", JSON.stringify(placed("o-behind-poison")));

    await waitFor(async () => (await effects("o-behind-poison")) === 1, { message: "message behind poison" });
    const dlq = await waitFor(
      async () => {
        const all = await deadLetters();
        return all.length >= 4 ? all : undefined;
      },
      { timeoutMs: 15_000, message: "four dead letters" },
    );
    const byId = (id: string) => dlq.find((d) => d.header("ce-id") === id)!;

    expect(byId(badJson).header(DLQ_HEADERS.reason)).toBe("invalid_json");
    expect(byId(badJson).subject).toBe("dlq.allocation.ordering.order_placed.v1");
    expect(byId(badJson).data).toBe("{not json");
    expect(byId(badSchema).header(DLQ_HEADERS.reason)).toBe("schema_violation");
    expect(byId(badSchema).header(DLQ_HEADERS.error)).toMatch(/customerId|lines/);
    expect(byId(unknownVersion).header(DLQ_HEADERS.reason)).toBe("unknown_version");
    expect(byId(unknownVersion).subject).toBe("dlq.allocation.ordering.order_placed.v9");
    const failed = byId(throwing);
    expect(failed.header(DLQ_HEADERS.reason)).toBe("max_deliveries");
    expect(failed.header(DLQ_HEADERS.error)).toBe("the handler cannot cope");
    expect(failed.header(DLQ_HEADERS.deliveryCount)).toBe("3");
    for (const d of dlq) {
      expect(d.header(DLQ_HEADERS.originalSubject)).toMatch(/^ordering\.order_placed\.v\d$/);
      expect(Number(d.header(DLQ_HEADERS.streamSequence))).toBeGreaterThan(0);
      expect(d.header(DLQ_HEADERS.originalStream)).toBe("ORDERING");
      expect(d.header("ce-type")).toBe(d.header(DLQ_HEADERS.originalSubject));
    }
    expect(seen.filter((id) => id === "always-fails-1")).toHaveLength(3);
  });

  it("acks and skips events of its stream that it does not handle", async () => {
    await publishRaw("ordering.customer_became_vip.v1", JSON.stringify({ customerId: "c", orderCount: 3 }));
    await publishRaw("ordering.order_placed.v1", JSON.stringify(placed("o-after-vip")));
    await waitFor(async () => (await effects("o-after-vip")) === 1);
    expect((await deadLetters()).filter((d) => d.subject.includes("customer_became_vip"))).toHaveLength(0);
  });

  it("keeps the stream order of messages with the same key", async () => {
    const orderId = "o-ordered";
    await publishRaw("ordering.order_placed.v1", JSON.stringify(placed(orderId)));
    await publishRaw(
      "ordering.order_cancelled.v1",
      JSON.stringify({ orderId, cancelledAt: new Date().toISOString() }),
    );
    await waitFor(async () => (await effects(`cancelled:${orderId}`)) === 1);
    const rows = await h.db.execute<{ note: string }>(
      dsql`select note from effects where note in (${orderId}, ${`cancelled:${orderId}`}) order by id`,
    );
    expect(rows.map((r) => r.note)).toEqual([orderId, `cancelled:${orderId}`]);
  });

  it("makes the consumer span a child of the producer span, in one trace", async () => {
    spans.reset();
    const relay = createOutboxRelay({ service: "ordering", db: h.db, sql: h.sql, nc, logger: silentLogger });
    await h.db.transaction((tx) =>
      createOutbox({ service: "ordering" }).enqueue(tx, orderPlacedV1, placed("o-span")),
    );
    await relay.flush();
    await waitFor(async () => (await effects("o-span")) === 1);
    const send = spans.byName("send ordering.order_placed.v1").at(-1)!;
    const process = await waitFor(() =>
      spans
        .byName("process ordering.order_placed.v1")
        .find((s) => s.spanContext().traceId === send.spanContext().traceId),
    );
    expect(process.parentSpanContext?.spanId).toBe(send.spanContext().spanId);
    expect(process.attributes["messaging.system"]).toBe("nats");
    expect(process.attributes["messaging.destination.name"]).toBe("ordering.order_placed.v1");
    expect(process.attributes["messaging.consumer.group.name"]).toBe("allocation-ordering");
    expect(send.attributes["messaging.message.id"]).toBe(process.attributes["messaging.message.id"]);
  });

  it("resumes consuming after the broker restarts", async () => {
    await nats.stop();
    await nats.start();
    await waitFor(() => !nc.isClosed() && nc.getServer() !== "", { message: "reconnected" });
    await waitFor(
      async () => {
        await publishRaw(
          "ordering.order_placed.v1",
          JSON.stringify(placed("o-after-restart")),
          "after-restart",
        );
        return true;
      },
      { timeoutMs: 15_000, message: "publish after restart" },
    );
    await waitFor(async () => (await effects("o-after-restart")) === 1, {
      timeoutMs: 20_000,
      message: "message handled after the broker restart",
    });
    expect(consumer.isRunning()).toBe(true);
  });
});
