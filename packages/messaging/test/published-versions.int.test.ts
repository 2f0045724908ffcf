import type { NatsConnection } from "@nats-io/nats-core";
import { context, trace } from "@opentelemetry/api";
import { lineAllocatedV1, lineAllocatedV2, outOfStockV1 } from "@stockflow/contracts";
import {
  collectSpans,
  createTestDatabase,
  type PrivateNatsServer,
  startNatsServer,
  type TestDatabase,
} from "@stockflow/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
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
const allocation = createOutbox({ service: "allocation" });

const allocated = (orderId: string, eta: string | null = "2031-05-01") => ({
  orderId,
  sku: "RED-CHAIR",
  qty: 2,
  batchref: "b-ship",
  eta,
  version: 7,
});

beforeAll(async () => {
  pg = await createTestDatabase("published_versions");
  nats = await startNatsServer();
  handle = await openTestDb(pg.url);
  nc = await connectNats({ servers: nats.url, name: "versions-test", logger: silentLogger });
  await ensureStreams(nc, ["ALLOCATION"]);
});

afterAll(async () => {
  await nc?.close();
  await handle?.sql.end();
  await nats?.dispose();
  await pg?.drop();
  await spans.shutdown();
});

async function publishedFor(orderId: string) {
  await testRelay(handle, nc, { service: "allocation" }).flush();
  return (await streamMessages(nc, "ALLOCATION")).filter(
    (m) => m.json<{ orderId: string }>().orderId === orderId,
  );
}

describe("every published version of one enqueued event", () => {
  it("goes out as v2 and as v1, each with its own ce-id, headers and payload, in one trace", async () => {
    const tracer = trace.getTracer("test");
    const span = tracer.startSpan("allocate");
    const id = await context.with(trace.setSpan(context.active(), span), () =>
      handle.db.transaction((tx) => allocation.enqueue(tx, lineAllocatedV2, allocated("o-both"))),
    );
    span.end();
    const messages = await publishedFor("o-both");
    expect(messages.map((m) => m.subject)).toEqual([lineAllocatedV2.subject, lineAllocatedV1.subject]);
    const [v2, v1] = messages.map((m) => m.header!);
    expect(v2!.get("ce-id")).toBe(id);
    expect(v1!.get("ce-id")).not.toBe(id);
    for (const [h, subject] of [
      [v2!, lineAllocatedV2.subject],
      [v1!, lineAllocatedV1.subject],
    ] as const) {
      expect(h.get("Nats-Msg-Id")).toBe(h.get("ce-id"));
      expect(h.get("ce-type")).toBe(subject);
      expect(h.get("ce-source")).toBe("/allocation");
    }
    expect(v1!.get("ce-time")).toBe(v2!.get("ce-time"));
    const stored = (await handle.db.select().from(outbox)).filter(
      (r) => (r.payload as { orderId: string }).orderId === "o-both",
    );
    expect(new Set(stored.map((r) => r.headers.traceparent)).size).toBe(1);
    // Each publish is its own PRODUCER span, child of the context both rows stored.
    for (const h of [v1!, v2!]) expect(h.get("traceparent")).toContain(span.spanContext().traceId);
    expect(messages[0]!.json()).toEqual(allocated("o-both"));
    const { eta: _, ...withoutEta } = allocated("o-both");
    expect(messages[1]!.json()).toEqual(withoutEta);
  });

  it("writes both rows in the caller's transaction: a rollback leaves neither", async () => {
    await handle.db
      .transaction(async (tx) => {
        await allocation.enqueue(tx, lineAllocatedV2, allocated("o-rolled-back"));
        throw new Error("rollback");
      })
      .catch(() => {});
    const rows = await handle.db.select().from(outbox);
    expect(rows.filter((r) => (r.payload as { orderId: string }).orderId === "o-rolled-back")).toEqual([]);
  });

  it("writes v2 alone for a change v1 cannot express", async () => {
    await handle.db.transaction((tx) =>
      allocation.enqueue(tx, lineAllocatedV2, allocated("o-delayed", "2031-06-01"), {
        onlyThisVersion: true,
      }),
    );
    const messages = await publishedFor("o-delayed");
    expect(messages.map((m) => m.subject)).toEqual([lineAllocatedV2.subject]);
  });

  it("writes an event no deprecated version depends on as itself alone", () => {
    const rows = outboxRowsOf("allocation", outOfStockV1, { orderId: "o-1", sku: "S", qty: 1, version: 2 });
    expect(rows.map((r) => r.subject)).toEqual([outOfStockV1.subject]);
  });

  it("refuses an event whose downcast would not satisfy the older contract", () => {
    expect(() => outboxRowsOf("allocation", lineAllocatedV2, { ...allocated("o-bad"), qty: 0 })).toThrow(
      ContractViolation,
    );
  });
});
