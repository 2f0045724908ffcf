import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import { connectNats, createOutbox, createOutboxRelay, ensureStreams } from "@stockflow/messaging";
import { type HttpApp, openDatabase, readinessOf } from "@stockflow/service-kit";
import { createLogger, type Logger } from "@stockflow/telemetry";
import { orderingRetention } from "./adapters/db/retention.js";
import { createUnitOfWork } from "./adapters/db/unit-of-work.js";
import type { HandlerDeps } from "./app/ports.js";
import type { OrderingConfig } from "./config.js";
import { createAllocationConsumer } from "./consumers/allocation-consumer.js";
import { buildOrderingApp } from "./http/app.js";

// ../drizzle from src/ (tests) and from dist/ (the built service) alike.
const migrationsFolder = fileURLToPath(new URL("../drizzle", import.meta.url));

export interface OrderingService {
  app: HttpApp;
  logger: Logger;
  /** Starts the outbox relay, the allocation consumer and the deletion of expired rows. */
  start(): Promise<void>;
  /** Stops consuming, flushes the outbox (best effort), closes NATS and the database. Call after app.close(). */
  stop(): Promise<void>;
}

export interface BootstrapOptions {
  logger?: Logger;
  /** Outbox relay polling when no NOTIFY arrives; tests may shorten it. */
  relayPollIntervalMs?: number;
}

/**
 * The composition root: migrates the database, connects NATS, makes sure the streams
 * exist, and wires repositories, handlers, consumer and HTTP routes. Nothing runs until
 * `start()`; nothing happens at import time.
 */
export async function bootstrap(
  config: OrderingConfig,
  options: BootstrapOptions = {},
): Promise<OrderingService> {
  const logger = options.logger ?? createLogger({ service: "ordering", level: config.logLevel });
  const database = await openDatabase({
    url: config.databaseUrl,
    service: "ordering",
    migrationsFolder,
    logger,
  });
  const nc = await connectNats({
    servers: config.natsServers.join(","),
    ...(config.natsUser !== undefined ? { user: config.natsUser, password: config.natsPassword ?? "" } : {}),
    ...(config.natsCreds !== undefined ? { credsFile: config.natsCreds } : {}),
    name: "ordering",
    logger,
  });
  try {
    await ensureStreams(nc, ["ORDERING", "ALLOCATION", "DLQ"], {
      replicas: config.natsStreamReplicas,
      logger,
    });
  } catch (err) {
    await nc.close();
    await database.close();
    throw err;
  }

  const handlers: HandlerDeps = { clock: { now: () => new Date() }, newId: () => randomUUID() };
  const outbox = createOutbox({ service: "ordering" });
  const relay = createOutboxRelay({
    service: "ordering",
    db: database.db,
    sql: database.sql,
    nc,
    logger,
    ...(options.relayPollIntervalMs !== undefined ? { pollIntervalMs: options.relayPollIntervalMs } : {}),
  });
  // New orders' outbox rows go to the relay as they commit (published without a read back);
  // a cancellation's row wakes it by its NOTIFY (enqueue).
  const uow = createUnitOfWork({ db: database.db, outbox, handOff: (rows) => relay.handOff(rows) });
  const consumer = createAllocationConsumer({
    nc,
    db: database.db,
    logger,
    uow,
    handlers,
    redelivery: config.consumer,
  });
  const app = await buildOrderingApp({
    logger,
    readiness: readinessOf({ sql: database.sql, nc, consumers: [consumer] }),
    uow,
    handlers,
    rateLimitPerMinute: config.rateLimitPerMinute,
  });

  const retention = orderingRetention({
    sql: database.sql,
    logger,
    retention: config.retention,
    idempotencyRetentionMs: config.idempotencyRetentionMs,
  });

  return {
    app,
    logger,
    async start() {
      relay.start();
      await consumer.start();
      retention.start();
    },
    async stop() {
      await retention.stop();
      await consumer.stop();
      await relay.stop();
      await nc.drain();
      await database.close();
    },
  };
}
