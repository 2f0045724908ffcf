import { fileURLToPath } from "node:url";
import { createUnitOfWork, type Database } from "@stockflow/messaging";
import { migratedTestDatabase as migrated } from "@stockflow/service-kit/testing";
import { createLogger } from "@stockflow/telemetry";

export const migrationsFolder = fileURLToPath(new URL("../drizzle", import.meta.url));
export const quietLogger = () => createLogger({ service: "allocation", level: "silent" });

/**
 * The kit's unit of work over `db`, as `createMessaging` gives the service one: the service's
 * units of work keep their product sessions through it. Its rows carry the NOTIFY (no relay).
 */
export function kitUnitOfWork(db: Database) {
  return createUnitOfWork({ service: "allocation", db, handOff: () => {} });
}

/** A fresh database with the service's migrations applied; `close` ends its pools and drops it. */
export const migratedTestDatabase = (label: string) =>
  migrated({ service: "allocation", migrationsFolder, label });
