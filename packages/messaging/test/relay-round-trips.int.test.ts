import type { NatsConnection } from "@nats-io/nats-core";
import { orderPlacedV1 } from "@stockflow/contracts";
import {
  countSocketWrites,
  createTestDatabase,
  type PrivateNatsServer,
  startNatsServer,
  type TestDatabase,
} from "@stockflow/testkit";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectNats, ensureStreams, outboxInsert, outboxRowsOf } from "../src/index.js";
import { dependencyOutages } from "../src/outage-log.js";
import { Claims } from "../src/relay/claims.js";
import { createPublisher } from "../src/relay/publisher.js";
import { createReader, markPublished } from "../src/relay/reader.js";
import { openTestDb, silentLogger, streamMessages } from "./support.js";

// What the relay costs PostgreSQL per batch, counted as socket writes of its client (each
// one a round trip: the relay awaits the answer before it writes again). Its transactions
// are pipelined (driver.ts): without that, a batch is four round trips and a marking three.

let pg: TestDatabase;
let nats: PrivateNatsServer;
let nc: NatsConnection;
let handle: Awaited<ReturnType<typeof openTestDb>>;
let relaySql: postgres.Sql;
const socket = { writes: () => 0 };

beforeAll(async () => {
  pg = await createTestDatabase("relay_round_trips");
  nats = await startNatsServer();
  handle = await openTestDb(pg.url);
  nc = await connectNats({ servers: nats.url, name: "round-trips-test", logger: silentLogger });
  await ensureStreams(nc, ["ORDERING"]);
  const counter = countSocketWrites(pg.url);
  socket.writes = counter.writes;
  relaySql = postgres(pg.url, { max: 1, onnotice: () => {}, ...counter.options });
});

afterAll(async () => {
  await relaySql?.end();
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

/** Commits outbox rows from another client; answers their ids. */
async function commit(...orderIds: string[]): Promise<string[]> {
  const rows = orderIds.flatMap((id) => outboxRowsOf("ordering", orderPlacedV1, placed(id)));
  const { text, params } = outboxInsert(rows, { notify: false });
  const written = await handle.sql.unsafe(text, params as never[]);
  return written.map((r) => String(r.id));
}

async function unpublished(): Promise<number> {
  const [row] = await handle.sql`select count(*)::int as n from outbox where published_at is null`;
  return row!.n as number;
}

describe("outbox relay's round trips to PostgreSQL", () => {
  it("reads, publishes and marks a batch in two, and marks hand-offs in one", async () => {
    const claims = new Claims();
    const readAndPublish = createReader({
      service: "ordering",
      sql: relaySql,
      batchSize: 100,
      claims,
      publisher: createPublisher(nc, 5_000),
      state: { handOffs: false, lockBusy: false },
      outages: dependencyOutages(silentLogger, "round-trips test relay"),
    });
    // The first batch prepares the relay's statements on its connection (a round trip each).
    await commit("warm-1");
    expect(await readAndPublish()).toEqual({ found: 1, published: 1 });

    await commit("rt-1", "rt-2", "rt-3");
    let before = socket.writes();
    expect(await readAndPublish()).toEqual({ found: 3, published: 3 });
    // BEGIN with the read; the marking with COMMIT.
    expect(socket.writes() - before).toBe(2);
    expect(await unpublished()).toBe(0);
    const onStream = (await streamMessages(nc, "ORDERING")).map((m) => m.json<{ orderId: string }>().orderId);
    expect(onStream).toEqual(["warm-1", "rt-1", "rt-2", "rt-3"]);

    // Rows a hand-off published: BEGIN, the marking and COMMIT in one write.
    const handedOff = await commit("ho-1", "ho-2");
    for (const id of handedOff) claims.claim(id);
    claims.published(handedOff);
    expect(await unpublished()).toBe(2);
    before = socket.writes();
    await markPublished(relaySql, claims);
    expect(socket.writes() - before).toBe(1);
    expect(await unpublished()).toBe(0);
  });
});
