import { fileURLToPath } from "node:url";
import {
  type Consumer,
  connectNats,
  createMessaging,
  ensureStreams,
  type Messaging,
} from "@stockflow/messaging";
import { type Database, type HttpApp, openDatabase, readinessOf } from "@stockflow/service-kit";
import { createLogger, type Logger } from "@stockflow/telemetry";
import { unitOfWorkFactory } from "./adapters/db/unit-of-work.js";
import { createViews } from "./adapters/db/views.js";
import { type Clock, systemClock } from "./app/ports.js";
import type { AllocationConfig } from "./config.js";
import { orderingConsumer } from "./consumers/ordering.js";
import { warehouseConsumer } from "./consumers/warehouse.js";
import { buildApp } from "./http/app.js";

type NatsConnection = Awaited<ReturnType<typeof connectNats>>;

// Beside src/ and dist/ alike.
const migrationsFolder = fileURLToPath(new URL("../drizzle", import.meta.url));

export interface AllocationService {
  app: HttpApp;
  consumers: readonly Consumer[];
  /** Its outbox's backlog and flush (tests). */
  messaging: Pick<Messaging, "backlog" | "flush">;
  /** Starts the outbox relay and the consumers (HTTP is started by whoever listens). */
  start(): Promise<void>;
  /** Stops taking messages, finishes the ones in hand, flushes the outbox, closes connections. */
  stop(): Promise<void>;
}

export interface BootstrapOptions {
  logger?: Logger;
  clock?: Clock;
}

/**
 * The composition root: migrates the database, connects NATS, creates the streams it
 * reads and writes, and wires handlers to consumers and views to routes. Nothing runs
 * until `start`.
 */
export async function bootstrap(
  config: AllocationConfig,
  options: BootstrapOptions = {},
): Promise<AllocationService> {
  const logger = options.logger ?? createLogger({ service: "allocation", level: config.logLevel });
  const database = await openDatabase({
    url: config.databaseUrl,
    service: "allocation",
    migrationsFolder,
    logger,
    poolSize: 8,
  });
  let nc: NatsConnection | undefined;
  try {
    nc = await connectNats({
      servers: config.natsServers.join(","),
      name: "allocation",
      logger,
      ...(config.natsUser ? { user: config.natsUser, password: config.natsPassword } : {}),
      ...(config.natsCreds ? { credsFile: config.natsCreds } : {}),
    });
    await ensureStreams(nc, ["ORDERING", "WAREHOUSE", "ALLOCATION", "DLQ"], {
      replicas: config.natsStreamReplicas,
      logger,
    });
    return await wire(nc, database, logger, options.clock ?? systemClock, config);
  } catch (err) {
    await nc?.close();
    await database.close();
    throw err;
  }
}

async function wire(
  nc: NatsConnection,
  database: Database,
  logger: Logger,
  clock: Clock,
  config: AllocationConfig,
): Promise<AllocationService> {
  // Every outbox row allocation writes commits with a consumer's transaction of the kit's
  // unit of work, which leaves its products for the next transactions to start from. The
  // relays publish in outbox order: per SKU, its events keep the order in which they
  // happened, with any number of replicas.
  const messaging = createMessaging({
    service: "allocation",
    database,
    nc,
    logger,
    retention: config.retention,
  });
  const unitOfWork = unitOfWorkFactory({ clock, unitOfWork: messaging.unitOfWork });
  const deps = { messaging, logger, unitOfWork, redelivery: config.consumer };
  const consumers = [orderingConsumer(deps), warehouseConsumer(deps)];
  const app = await buildApp({
    logger,
    readiness: readinessOf({ sql: database.sql, nc, consumers }),
    views: createViews(database.db),
  });

  return {
    app,
    consumers,
    messaging,
    async start() {
      await messaging.start();
    },
    async stop() {
      await messaging.stop();
      await nc.drain();
      await database.close();
    },
  };
}
