import type { NatsConnection } from "@nats-io/nats-core";
import { orderPlacedV1 } from "@stockflow/contracts";
import {
  createTestDatabase,
  type PrivateNatsServer,
  startNatsServer,
  type TestDatabase,
  waitFor,
} from "@stockflow/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type CommittedRow,
  committedRows,
  connectNats,
  ensureStreams,
  type OutboxRelay,
  outboxInsert,
  outboxRowsOf,
} from "../src/index.js";
import { openTestDb, silentLogger, streamMessages, testRelay } from "./support.js";

let pg: TestDatabase;
let nats: PrivateNatsServer;
let nc: NatsConnection;
let handle: Awaited<ReturnType<typeof openTestDb>>;

beforeAll(async () => {
  pg = await createTestDatabase("relay_hand_off");
  nats = await startNatsServer();
  handle = await openTestDb(pg.url);
  nc = await connectNats({ servers: nats.url, name: "hand-off-test", logger: silentLogger });
  await ensureStreams(nc, ["ORDERING"]);
});

afterAll(async () => {
  await nc?.close();
  await handle?.sql.end();
  await nats?.dispose();
  await pg?.drop();
});

const placed = (orderId: string) => ({
  orderId,
  customerId: "c-1",
  lines: [{ sku: "RED-CHAIR", qty: 1 }],
  placedAt: new Date().toISOString(),
});

/** Commits outbox rows as ordering's intake statement writes them (no NOTIFY), with their ids. */
async function commit(...orderIds: string[]): Promise<CommittedRow[]> {
  const rows = orderIds.flatMap((id) => outboxRowsOf("ordering", orderPlacedV1, placed(id)));
  const { text, params } = outboxInsert(rows, { notify: false });
  const written = await handle.sql.begin((tx) => tx.unsafe(text, params as never[]));
  return committedRows(rows, written as unknown as { id: string; event_id: string }[]);
}

async function orderIdsOnStream(prefix: string): Promise<string[]> {
  return (await streamMessages(nc, "ORDERING"))
    .map((m) => m.json<{ orderId: string }>().orderId)
    .filter((id) => id.startsWith(prefix));
}

/** Polls only once a minute: whatever it publishes sooner came by a hand-off or a wake. */
async function startedRelay(): Promise<OutboxRelay> {
  const relay = testRelay(handle, nc, { pollIntervalMs: 60_000, markDelayMs: 10 });
  relay.start();
  await waitFor(async () => (await relay.backlog()).pending === 0, { message: "earlier rows published" });
  return relay;
}

describe("outbox relay: rows handed off by the process that committed them", () => {
  it("publishes them without reading them back, then marks them published", async () => {
    const relay = await startedRelay();
    // Another replica's relay mid-batch holds the lock every read takes: a relay that read
    // the rows back would wait for it.
    const other = await handle.sql.reserve();
    try {
      await other`begin`;
      await other`select pg_advisory_xact_lock(hashtext(${"outbox:ordering"}))`;
      relay.handOff(await commit("h-1", "h-2", "h-3"));
      await waitFor(async () => (await orderIdsOnStream("h-")).length === 3, {
        timeoutMs: 5000,
        message: "the handed-off rows were published while the lock was taken",
      });
      await waitFor(async () => (await relay.backlog()).pending === 0, {
        timeoutMs: 5000,
        message: "the published rows were marked",
      });
      await other`commit`;
    } finally {
      other.release();
      await relay.stop();
    }
    expect(await orderIdsOnStream("h-")).toEqual(["h-1", "h-2", "h-3"]);
  });

  it("reads instead, in outbox order, once a hand-off failed to publish, until nothing older is left", async () => {
    const relay = await startedRelay();
    try {
      await nats.stop();
      relay.handOff(await commit("f-1", "f-2"));
      // The next rows are not published ahead of them, even once NATS is back.
      const later = await commit("f-3");
      await waitFor(async () => (await relay.backlog()).pending === 3, { message: "all three pending" });
      await nats.start();
      relay.handOff(later);
      await waitFor(async () => (await orderIdsOnStream("f-")).length === 3, {
        timeoutMs: 20_000,
        message: "the rows were read and published after NATS came back",
      });
      await waitFor(async () => (await relay.backlog()).pending === 0, { message: "marked" });
      // Caught up: the next hand-off publishes at once again.
      relay.handOff(await commit("f-4"));
      await waitFor(async () => (await orderIdsOnStream("f-")).length === 4, {
        timeoutMs: 5000,
        message: "published by hand-off again",
      });
    } finally {
      await relay.stop();
    }
    expect(await orderIdsOnStream("f-")).toEqual(["f-1", "f-2", "f-3", "f-4"]);
    expect((await relay.backlog()).pending).toBe(0);
  });

  it("publishes a row once when its hand-off and a read meet, whichever comes first", async () => {
    // JetStream would store a second publish of the row once (same Nats-Msg-Id), but a core
    // subscriber on the subject gets every publish.
    const seen = new Map<string, number>();
    const sub = nc.subscribe("ordering.>", {
      callback: (_err, m) => {
        const { orderId } = m.json<{ orderId: string }>();
        seen.set(orderId, (seen.get(orderId) ?? 0) + 1);
      },
    });
    const relay = await startedRelay();
    const delays = [0, 0.1, 0.5, 1, 2, 4];
    try {
      for (let round = 0; round < 60; round++) {
        const rows = await commit(`m-${round}-a`, `m-${round}-b`);
        // The read starts now; the hand-off comes before it, while it runs, or after it.
        relay.wake();
        const delay = delays[round % delays.length]!;
        if (delay > 0) await new Promise((r) => setTimeout(r, delay));
        relay.handOff(rows);
      }
      await waitFor(async () => (await relay.backlog()).pending === 0, {
        message: "all published and marked",
      });
      await nc.flush();
      await waitFor(() => seen.size === 120, { message: "every row seen on the subject" });
    } finally {
      sub.unsubscribe();
      await relay.stop();
    }
    expect([...seen.values()].filter((n) => n !== 1)).toEqual([]);
  });

  it("marks what it published before it stops", async () => {
    const relay = testRelay(handle, nc, { pollIntervalMs: 60_000, markDelayMs: 60_000 });
    relay.start();
    await waitFor(async () => (await relay.backlog()).pending === 0, { message: "earlier rows published" });
    relay.handOff(await commit("s-1", "s-2"));
    await waitFor(async () => (await orderIdsOnStream("s-")).length === 2, { message: "published" });
    // The marking waits a minute; stopping does not.
    expect((await relay.backlog()).pending).toBe(2);
    await relay.stop();
    expect((await relay.backlog()).pending).toBe(0);
    expect(await orderIdsOnStream("s-")).toEqual(["s-1", "s-2"]);
  });

  it("leaves rows handed off before it started to its first read", async () => {
    const relay = testRelay(handle, nc, { pollIntervalMs: 60_000 });
    relay.handOff(await commit("b-1"));
    expect(await orderIdsOnStream("b-")).toEqual([]);
    relay.start();
    try {
      await waitFor(async () => (await orderIdsOnStream("b-")).length === 1, {
        timeoutMs: 5000,
        message: "published by the first read",
      });
    } finally {
      await relay.stop();
    }
    expect((await relay.backlog()).pending).toBe(0);
  });
});
