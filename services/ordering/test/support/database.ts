import { fileURLToPath } from "node:url";
import { migratedTestDatabase } from "@stockflow/service-kit/testing";
import { createLogger, type Logger } from "@stockflow/telemetry";

export const migrationsFolder = fileURLToPath(new URL("../../drizzle", import.meta.url));

export const silentLogger = (): Logger => createLogger({ service: "ordering", level: "silent" });

/** A fresh database migrated the way the service migrates its own; `close` ends the pools and drops it. */
export const migratedDatabase = (label: string) =>
  migratedTestDatabase({ service: "ordering", migrationsFolder, label });
