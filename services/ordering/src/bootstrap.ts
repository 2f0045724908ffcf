import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import { connectNats, createMessaging, ensureStreams } from "@stockflow/messaging";
import { type HttpApp, openDatabase, readinessOf } from "@stockflow/service-kit";
import { createLogger, type Logger } from "@stockflow/telemetry";
import { purgeIdempotencyKeys } from "./adapters/db/idempotency-store.js";
import { listenForOrderChanges, orderChangeAnnouncer } from "./adapters/db/order-change-feed.js";
import { createUnitOfWork } from "./adapters/db/unit-of-work.js";
import { createOrderWaiters } from "./app/order-waiters.js";
import type { HandlerDeps } from "./app/ports.js";
import type { OrderingConfig } from "./config.js";
import { createAllocationConsumer } from "./consumers/allocation-consumer.js";
import { buildOrderingApp } from "./http/app.js";

// ../drizzle from src/ (tests) and from dist/ (the built service) alike.
const migrationsFolder = fileURLToPath(new URL("../drizzle", import.meta.url));

const HOUR = 60 * 60 * 1000;

export interface OrderingService {
  app: HttpApp;
  logger: Logger;
  /** Requests waiting now for an order to change (`GET /orders/:id?wait=`). */
  waitingRequests(): number;
  /** Starts the outbox relay, the allocation consumer and the hourly idempotency-key purge. */
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
    await ensureStreams(nc, ["ORDERING", "ALLOCATION", "DLQ"]);
  } catch (err) {
    await nc.close();
    await database.close();
    throw err;
  }

  const handlers: HandlerDeps = { clock: { now: () => new Date() }, newId: () => randomUUID() };
  // New orders' events go at commit (the intake's statements); a cancellation's are read in
  // outbox order, so the relay that reads it publishes a still-pending order_placed of the
  // same order before it, whichever replica took the order.
  const messaging = createMessaging({
    service: "ordering",
    database,
    nc,
    logger,
    ...(options.relayPollIntervalMs !== undefined
      ? { relay: { pollIntervalMs: options.relayPollIntervalMs } }
      : {}),
  });
  // The requests waiting for orders: this replica wakes its own at once after a commit (no
  // round trip through PostgreSQL), and the others through the NOTIFY.
  const waiters = createOrderWaiters({ max: config.maxWaitingRequests });
  const announcer = orderChangeAnnouncer(config.databaseUrl, logger);
  const uow = createUnitOfWork({
    db: database.db,
    unitOfWork: messaging.unitOfWork,
    announce: (orderIds) => {
      waiters.changed(orderIds);
      announcer.announce(orderIds);
    },
  });
  const consumer = createAllocationConsumer({
    messaging,
    logger,
    uow,
    handlers,
    redelivery: config.consumer,
    lineAllocatedVersion: config.lineAllocatedVersion,
  });
  // Listening before the app serves: a request that waits cannot miss another replica's commit.
  let feed: Awaited<ReturnType<typeof listenForOrderChanges>>;
  try {
    feed = await listenForOrderChanges(
      database.sql,
      { changed: (orderIds) => waiters.changed(orderIds), resubscribed: () => waiters.changedAll() },
      logger,
    );
  } catch (err) {
    await announcer.close();
    await nc.close();
    await database.close();
    throw err;
  }
  const app = await buildOrderingApp({
    logger,
    waiters,
    readiness: readinessOf({ sql: database.sql, nc, consumers: [consumer] }),
    uow,
    handlers,
    rateLimitPerMinute: config.rateLimitPerMinute,
  });

  let purgeTimer: NodeJS.Timeout | undefined;
  const purge = () =>
    purgeIdempotencyKeys(database.db).then(
      (purged) => purged > 0 && logger.info({ purged }, "purged idempotency keys older than 24 hours"),
      (err: unknown) => logger.warn({ err }, "purging idempotency keys failed"),
    );

  return {
    app,
    logger,
    waitingRequests: () => waiters.size,
    async start() {
      await messaging.start();
      void purge();
      purgeTimer = setInterval(purge, HOUR);
      purgeTimer.unref();
    },
    async stop() {
      clearInterval(purgeTimer);
      await messaging.stop();
      waiters.releaseAll();
      await feed.stop();
      await announcer.close();
      await nc.drain();
      await database.close();
    },
  };
}
