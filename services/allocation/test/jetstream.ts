import {
  type Contract,
  type EventOf,
  lineAllocatedV1,
  lineDeallocatedV1,
  outOfStockV1,
} from "@stockflow/contracts";
import { connectNats, createConsumer, handle } from "@stockflow/messaging";
import { eventPublisher } from "@stockflow/messaging/testing";
import { createTestDatabase, startNatsServer, waitFor } from "@stockflow/testkit";
import { bootstrap, loadConfig } from "../src/index.js";
import { migratedTestDatabase, quietLogger } from "./support.js";

export interface Observed {
  subject: string;
  orderId: string;
  sku: string;
  qty: number;
  batchref?: string;
  reason?: string;
  version: number;
}

/**
 * The other services, as far as a test of allocation needs them: publishes ordering and
 * warehouse events through the messaging kit's own outbox and relay (so with the CloudEvents
 * headers and Nats-Msg-Id of the spec), and records what allocation publishes on ALLOCATION.
 */
export async function neighbours(natsUrl: string) {
  const logger = quietLogger();
  const database = await migratedTestDatabase("allocation_neighbours");
  const nc = await connectNats({ servers: natsUrl, name: "neighbours", logger });
  const publisher = eventPublisher({ service: "neighbours", database, nc, logger, pollIntervalMs: 50 });
  const observed: Observed[] = [];
  const record = (subject: string) => async (_tx: unknown, event: object) => {
    observed.push({ subject, ...(event as Omit<Observed, "subject">) });
  };
  const observer = createConsumer({
    service: "ordering",
    durable: "test-observer",
    stream: "ALLOCATION",
    nc,
    db: database.db,
    logger,
    handlers: [
      handle(lineAllocatedV1, record(lineAllocatedV1.subject)),
      handle(lineDeallocatedV1, record(lineDeallocatedV1.subject)),
      handle(outOfStockV1, record(outOfStockV1.subject)),
    ],
  });

  return {
    observed,
    async start() {
      publisher.start();
      await observer.start();
    },
    /** Publishes events as their producer would, in this order. */
    publish: <C extends Contract>(contract: C, ...payloads: EventOf<C>[]) =>
      publisher.publish(contract, ...payloads),
    about: (orderId: string) => observed.filter((e) => e.orderId === orderId),
    /** Resolves once every event published so far is on its stream (the relay marked it). */
    async flushed() {
      await waitFor(
        async () => {
          const [row] = await database.sql`select count(*)::int as n from outbox where published_at is null`;
          return row?.n === 0;
        },
        { message: "the neighbours' outbox to be published" },
      );
    },
    async dispose() {
      await observer.stop();
      await publisher.stop();
      await nc.close();
      await database.close();
    },
  };
}

/**
 * The allocation service as it runs (bootstrap, consumers and relay started) on a fresh
 * database and a private nats-server, with its neighbours (above) publishing and observing.
 */
export async function allocationOverJetStream(label: string, env: Record<string, string> = {}) {
  const nats = await startNatsServer();
  const testDb = await createTestDatabase(label);
  const config = loadConfig({
    DATABASE_URL: testDb.url,
    NATS_URL: nats.url,
    PORT: "0",
    LOG_LEVEL: "silent",
    ...env,
  });
  const service = await bootstrap(config, { logger: quietLogger() });
  await service.start();
  const others = await neighbours(nats.url);
  await others.start();
  return {
    nats,
    testDb,
    service,
    others,
    async dispose() {
      await others.dispose();
      await service.stop();
      await service.app.close();
      await testDb.drop();
      await nats.dispose();
    },
  };
}
