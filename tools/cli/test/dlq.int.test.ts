import { randomUUID } from "node:crypto";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import { orderPlacedV1 } from "@stockflow/contracts";
import { type Consumer, createConsumer, DLQ_HEADERS, ensureStreams, handle } from "@stockflow/messaging";
import {
  createTestDatabase,
  type PrivateNatsServer,
  startNatsServer,
  type TestDatabase,
  waitFor,
} from "@stockflow/testkit";
import { sql as dsql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run } from "../src/cli.js";
import { dlqList } from "../src/commands/dlq-list.js";
import { dlqPurge } from "../src/commands/dlq-purge.js";
import { dlqReplay } from "../src/commands/dlq-replay.js";
import { type DeadLetter, readDeadLetters } from "../src/dead-letters.js";
import { connectCli } from "../src/nats.js";
import { captureOutput, eventHeaders, newTraceparent, openTestDb, placed, silentLogger } from "./support.js";

const SUBJECT = orderPlacedV1.subject;
let pg: TestDatabase;
let nats: PrivateNatsServer;
let nc: NatsConnection;
let h: Awaited<ReturnType<typeof openTestDb>>;
let consumer: Consumer;
// Orders whose handler throws: the "bug" an operator fixes before replaying.
const broken = new Set<string>();

async function publish(body: string, opts: { ceId?: string; traceparent?: string } = {}) {
  const ceId = opts.ceId ?? randomUUID();
  const traceparent = opts.traceparent ?? newTraceparent();
  const msgID = `orig-${ceId}`;
  await jetstream(nc).publish(SUBJECT, body, { headers: eventHeaders(SUBJECT, ceId, traceparent), msgID });
  return { ceId, traceparent, msgID };
}

const effects = async (note: string) =>
  (await h.db.execute<{ n: number }>(dsql`select count(*)::int as n from effects where note = ${note}`))[0]!
    .n;

const deadLetters = async () => readDeadLetters(await jetstreamManager(nc));

async function deadLetterOf(ceId: string, notSeq = 0): Promise<DeadLetter> {
  return waitFor(async () => (await deadLetters()).find((d) => d.ceId === ceId && d.seq !== notSeq), {
    timeoutMs: 15_000,
    message: `a dead letter with ce-id ${ceId}`,
  });
}

beforeAll(async () => {
  pg = await createTestDatabase("cli_dlq");
  nats = await startNatsServer();
  h = await openTestDb(pg.url);
  nc = await connectCli({ servers: nats.url });
  await ensureStreams(nc, ["ORDERING", "DLQ"]);
  consumer = createConsumer({
    service: "allocation",
    durable: "allocation-ordering",
    stream: "ORDERING",
    nc,
    db: h.db,
    logger: silentLogger,
    maxAttempts: 2,
    retryDelaysMs: [10],
    handlers: [
      handle(orderPlacedV1, async (tx, event) => {
        if (broken.has(event.orderId)) throw new Error(`cannot allocate ${event.orderId}`);
        await tx.execute(dsql`insert into effects (note) values (${event.orderId})`);
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
});

describe("stockflow dlq", () => {
  const poison: Record<string, { ceId: string; traceparent: string; msgID: string }> = {};

  beforeAll(async () => {
    broken.add("o-broken");
    poison.badJson = await publish("{not json");
    poison.badSchema1 = await publish(JSON.stringify({ orderId: "x", lines: "many" }));
    poison.badSchema2 = await publish(JSON.stringify({ orderId: "y" }));
    poison.throwing = await publish(JSON.stringify(placed("o-broken")));
    await waitFor(async () => (await deadLetters()).length === 4, {
      timeoutMs: 15_000,
      message: "four dead letters",
    });
  });

  it("lists every dead letter with its reason, error, origin, delivery count and age", async () => {
    const json = captureOutput();
    expect(await dlqList({ nc, output: json.output }, { json: true })).toBe(0);
    const rows = JSON.parse(json.text()) as Array<Record<string, unknown>>;
    const byCeId = (id: string) => rows.find((r) => r.ceId === id)!;
    expect(rows).toHaveLength(4);
    expect(byCeId(poison.badJson!.ceId)).toMatchObject({
      reason: "invalid_json",
      subject: `dlq.allocation.${SUBJECT}`,
      originalSubject: SUBJECT,
      originalStream: "ORDERING",
      consumer: "allocation-ordering",
      deliveryCount: 1,
    });
    expect(byCeId(poison.badSchema1!.ceId)).toMatchObject({ reason: "schema_violation" });
    expect(byCeId(poison.throwing!.ceId)).toMatchObject({
      reason: "max_deliveries",
      error: "cannot allocate o-broken",
      deliveryCount: 2,
    });
    for (const r of rows) {
      expect(r.originalSequence).toBeGreaterThan(0);
      expect(r.ageMs).toBeGreaterThanOrEqual(0);
    }

    const plain = captureOutput();
    expect(await run(["dlq", "list"], { env: { NATS_URL: nats.url }, output: plain.output })).toBe(0);
    expect(plain.out[0]).toMatch(/^SEQ\s+AGE\s+REASON\s+ORIGINAL SUBJECT/);
    for (const reason of ["invalid_json", "schema_violation", "max_deliveries"])
      expect(plain.text()).toContain(reason);
    expect(plain.text()).toContain("cannot allocate o-broken");
    expect(plain.text()).toContain("4 dead letter(s)");
  });

  it("replays a dead letter to its original subject with its ce-id and traceparent under a fresh Nats-Msg-Id, then removes it", async () => {
    const dead = await deadLetterOf(poison.throwing!.ceId);
    broken.delete("o-broken"); // the operator fixed the bug
    const cap = captureOutput();
    expect(
      await run(["dlq", "replay", String(dead.seq)], { env: { NATS_URL: nats.url }, output: cap.output }),
    ).toBe(0);
    expect(cap.text()).toContain(`replayed dead letter ${dead.seq} to ${SUBJECT}`);

    const jsm = await jetstreamManager(nc);
    const republished = (await jsm.streams.getMessage("ORDERING", { last_by_subj: SUBJECT }))!;
    expect(republished.header.get("ce-id")).toBe(poison.throwing!.ceId);
    expect(republished.header.get("traceparent")).toBe(poison.throwing!.traceparent);
    expect(republished.header.get("Nats-Msg-Id")).not.toBe("");
    expect(republished.header.get("Nats-Msg-Id")).not.toBe(poison.throwing!.msgID);
    expect(republished.header.keys().filter((k) => k.toLowerCase().startsWith("dlq-"))).toEqual([]);
    expect(republished.string()).toBe(dead.message.string());

    expect((await deadLetters()).map((d) => d.seq)).not.toContain(dead.seq);
    await waitFor(async () => (await effects("o-broken")) === 1, { message: "the replayed order handled" });
  });

  it("replays the same dead letter twice and the consumer's inbox applies it once", async () => {
    const { ceId } = await publish(JSON.stringify(placed("o-twice")));
    await waitFor(async () => (await effects("o-twice")) === 1);
    // An operator replays a copy of an event that was in fact handled: the inbox must absorb it.
    const jsm = await jetstreamManager(nc);
    const original = (await jsm.streams.getMessage("ORDERING", { last_by_subj: SUBJECT }))!;
    const hdrs = eventHeaders(SUBJECT, ceId, original.header.get("traceparent"));
    for (const [k, v] of [
      [DLQ_HEADERS.reason, "max_deliveries"],
      [DLQ_HEADERS.originalSubject, SUBJECT],
      [DLQ_HEADERS.originalStream, "ORDERING"],
      [DLQ_HEADERS.streamSequence, String(original.seq)],
      [DLQ_HEADERS.deliveryCount, "5"],
    ] as const) {
      hdrs.set(k, v);
    }
    await jetstream(nc).publish(`dlq.allocation.${SUBJECT}`, original.data, { headers: hdrs });
    const copy = await deadLetterOf(ceId);
    await dlqReplay({ nc, output: captureOutput().output }, { seq: copy.seq });
    await waitFor(async () => (await consumer.pending()) === 0, { message: "the consumer drained" });
    expect(await effects("o-twice")).toBe(1);
  });

  it("replays only the dead letters with the reason given to --all --reason", async () => {
    const before = await deadLetters();
    const schema = before.filter((d) => d.reason === "schema_violation");
    expect(schema).toHaveLength(2);
    const cap = captureOutput();
    const code = await run(["dlq", "replay", "--all", "--reason", "schema_violation"], {
      env: { NATS_URL: nats.url },
      output: cap.output,
    });
    expect(code).toBe(0);
    expect(cap.text()).toContain("2 dead letter(s) with reason schema_violation replayed");

    const after = await deadLetters();
    for (const d of schema) expect(after.map((a) => a.seq)).not.toContain(d.seq);
    expect(after.find((d) => d.ceId === poison.badJson!.ceId)?.reason).toBe("invalid_json");
    // Still poison: the consumer dead-letters the replayed copies again, under new sequences.
    for (const d of schema) expect((await deadLetterOf(d.ceId, d.seq)).reason).toBe("schema_violation");
  });

  it("says so and exits 1 when asked to replay a sequence the DLQ does not hold", async () => {
    const cap = captureOutput();
    expect(await run(["dlq", "replay", "999999"], { env: { NATS_URL: nats.url }, output: cap.output })).toBe(
      1,
    );
    expect(cap.errText()).toContain("no dead letter with sequence 999999");
  });

  it("purges only the dead letters older than the given age", async () => {
    const old = await deadLetters();
    expect(old.length).toBeGreaterThan(0);
    const { ceId } = await publish("{still not json");
    const fresh = await deadLetterOf(ceId);
    const newestOld = Math.max(...old.map((d) => d.storedAt.getTime()));
    const gap = fresh.storedAt.getTime() - newestOld;
    expect(gap).toBeGreaterThanOrEqual(2);

    const none = captureOutput();
    expect(
      await run(["dlq", "purge", "--older-than", "1h"], { env: { NATS_URL: nats.url }, output: none.output }),
    ).toBe(0);
    expect(none.text()).toContain("0 dead letter(s) older than 1h 0m purged");
    expect(await deadLetters()).toHaveLength(old.length + 1);

    // Seen from one hour after the fresh letter: the old ones are older than 1h + gap/2, it is not.
    const now = () => new Date(fresh.storedAt.getTime() + 3_600_000);
    const purged = await dlqPurge(
      { nc, output: captureOutput().output, now },
      3_600_000 + Math.floor(gap / 2),
    );
    expect(purged).toEqual(old.map((d) => d.seq));
    expect((await deadLetters()).map((d) => d.seq)).toEqual([fresh.seq]);
  });
});
