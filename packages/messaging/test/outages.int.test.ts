import { jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import { orderPlacedV1 } from "@stockflow/contracts";
import {
  createTestDatabase,
  type PrivateNatsCluster,
  startNatsCluster,
  type TestDatabase,
  waitFor,
} from "@stockflow/testkit";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectNats, createConsumer, createOutbox, ensureStreams, handle } from "../src/index.js";
import { openTestDb, testRelay } from "./support.js";

interface Line {
  level: number;
  msg: string;
  dependency?: string;
  component?: string;
  downForMs?: number;
  err?: unknown;
  stack?: unknown;
}

// The issue's case: a one-replica stream whose only server died, while the services'
// connections live on the other servers of the cluster.
let cluster: PrivateNatsCluster;
let pg: TestDatabase;
let nc: NatsConnection;
let h: Awaited<ReturnType<typeof openTestDb>>;
const lines: Line[] = [];
const logger = pino({ level: "info" }, { write: (s: string) => void lines.push(JSON.parse(s) as Line) });

beforeAll(async () => {
  cluster = await startNatsCluster();
  pg = await createTestDatabase("outages");
  h = await openTestDb(pg.url);
  const setup = await connectNats({ servers: cluster.url, name: "setup", logger });
  await ensureStreams(setup, ["ORDERING"], { replicas: 1 });
  const home = await cluster.streamLeader("ORDERING");
  await setup.close();
  // Connected only to the servers that do not hold the stream.
  const others = cluster.servers.filter((s) => s !== home).map((s) => s.url);
  nc = await connectNats({ servers: others, name: "outages-test", logger });
}, 60_000);

afterAll(async () => {
  await nc?.close();
  await h?.sql.end({ timeout: 1 });
  await pg?.drop();
  await cluster?.dispose();
});

describe("a stream whose server is dead", () => {
  it("makes the relay log one line with the error, reminders every few seconds, and one line with the time away", async () => {
    const outbox = createOutbox({ service: "ordering" });
    const relay = testRelay(h, nc, { logger, publishTimeoutMs: 500, pollIntervalMs: 100 });
    const consumer = createConsumer({
      service: "allocation",
      durable: "allocation-ordering",
      stream: "ORDERING",
      nc,
      db: h.db,
      logger,
      handlers: [handle(orderPlacedV1, async () => {})],
    });
    await consumer.start();
    relay.start();
    try {
      await waitFor(() => consumer.isRunning(), { message: "the consumer pulling" });
      const home = await cluster.streamLeader("ORDERING");
      await home.kill();
      const enqueue = (orderId: string) =>
        h.db.transaction((tx) =>
          outbox.enqueue(tx, orderPlacedV1, {
            orderId,
            customerId: "c-1",
            lines: [{ sku: "LAMP", qty: 1 }],
            placedAt: new Date().toISOString(),
          }),
        );
      await enqueue("o-during-outage");
      // The consumer's pulls go unanswered: it says it is not pulling.
      await waitFor(() => !consumer.isRunning(), { timeoutMs: 20_000, message: "the consumer not pulling" });
      // Past two reminder intervals of failed attempts.
      const relayLines = () => lines.filter((l) => l.component === "outbox relay (ordering)");
      await waitFor(() => relayLines().some((l) => (l.downForMs ?? 0) >= 10_000), {
        timeoutMs: 30_000,
        message: "a reminder ten seconds into the outage",
      });
      await home.start();
      await waitFor(async () => (await relay.backlog()).pending === 0, {
        timeoutMs: 30_000,
        message: "the outbox published once the server is back",
      });
      await waitFor(() => consumer.isRunning(), { timeoutMs: 30_000, message: "the consumer pulling again" });

      const seen = relayLines();
      const [first, ...rest] = seen;
      expect(first).toMatchObject({ dependency: "NATS", level: 40 });
      expect(first?.msg).toMatch(/^outbox relay \(ordering\): NATS unavailable: /);
      const reminders = rest.filter((l) => l.level === 40);
      // About one every 5 s for the ~10-15 s it lasted; one per attempt would be dozens.
      expect(reminders.length).toBeGreaterThanOrEqual(1);
      expect(reminders.length).toBeLessThanOrEqual(6);
      const back = rest.filter((l) => l.level === 30);
      expect(back).toHaveLength(1);
      expect(back[0]?.msg).toMatch(/NATS is back after \d+\.\d s$/);
      expect(back[0]?.downForMs).toBeGreaterThanOrEqual(10_000);
      for (const l of seen) {
        expect(l.err).toBeUndefined();
        expect(JSON.stringify(l)).not.toMatch(/\n\s+at /);
      }
      const consumerLines = lines.filter((l) => l.component === "consumer allocation-ordering");
      expect(consumerLines.filter((l) => l.level === 40).length).toBeGreaterThanOrEqual(1);
      expect(consumerLines.at(-1)?.msg).toMatch(/NATS is back after/);
      const jsm = await jetstreamManager(nc);
      expect((await jsm.streams.info("ORDERING")).state.messages).toBe(1);
    } finally {
      await relay.stop();
      await consumer.stop();
    }
  });
});
