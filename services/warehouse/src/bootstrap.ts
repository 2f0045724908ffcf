import { fileURLToPath } from "node:url";
import { connectNats, createMessaging, ensureStreams } from "@stockflow/messaging";
import { buildHttpApp, openDatabase, readinessOf } from "@stockflow/service-kit";
import type { Logger } from "@stockflow/telemetry";
import { createQueries, createUnitOfWork } from "./adapters/db/unit-of-work.js";
import type { WarehouseConfig } from "./config.js";
import { allocationConsumer } from "./consumers/allocation.js";
import { registerWarehouseRoutes } from "./http/routes.js";
import { STAFF_SECURITY, staffSecurityScheme } from "./http/staff-auth.js";
import type { HttpApp } from "./http/types.js";

const SERVICE = "warehouse";

// src/ and dist/ both sit one level below the service folder that holds drizzle/.
const migrationsFolder = fileURLToPath(new URL("../drizzle", import.meta.url));

export interface WarehouseService {
  readonly app: HttpApp;
  /** Starts the outbox relay and the allocation consumer (the HTTP port is the caller's). */
  start(): Promise<void>;
  /** Stops consuming, flushes the outbox (best effort), closes NATS and the database. */
  stop(): Promise<void>;
}

/**
 * The composition root: opens (and migrates) the database, connects to NATS, makes sure
 * the streams exist, and wires the outbox, the consumer and the HTTP API together.
 */
export async function bootstrap(config: WarehouseConfig, logger: Logger): Promise<WarehouseService> {
  const database = await openDatabase({
    url: config.databaseUrl,
    service: SERVICE,
    migrationsFolder,
    logger,
  });
  const nc = await connectNats({
    // The messaging kit takes the comma-separated form of NATS_URL.
    servers: config.natsServers.join(","),
    user: config.natsUser,
    password: config.natsPassword,
    credsFile: config.natsCreds,
    name: SERVICE,
    logger,
  });
  await ensureStreams(nc, ["WAREHOUSE", "ALLOCATION", "DLQ"], {
    replicas: config.natsStreamReplicas,
    logger,
  });

  const messaging = createMessaging({ service: SERVICE, database, nc, logger, retention: config.retention });
  const consumer = allocationConsumer({ messaging, redelivery: config.consumer });

  const app = await buildHttpApp({
    service: SERVICE,
    logger,
    readiness: readinessOf({ sql: database.sql, nc, consumers: [consumer] }),
    securitySchemes: { [STAFF_SECURITY]: staffSecurityScheme },
  });
  registerWarehouseRoutes(app, {
    uow: createUnitOfWork(messaging.unitOfWork),
    queries: createQueries(database.db),
    staffToken: config.staffToken,
  });

  return {
    app,
    async start() {
      await messaging.start();
    },
    async stop() {
      await messaging.stop();
      await nc.drain().catch(() => nc.close());
      await database.close();
    },
  };
}
