import { fileURLToPath } from "node:url";
import { type MigratedTestDatabase, migratedTestDatabase } from "@stockflow/service-kit/testing";
import { createLogger } from "@stockflow/telemetry";

export const migrationsFolder = fileURLToPath(new URL("../drizzle", import.meta.url));

export const quietLogger = () => createLogger({ service: "warehouse-test", level: "silent" });

export type MigratedDatabase = MigratedTestDatabase;

/** A fresh database migrated the way the service migrates its own at start. */
export const migratedDatabase = (label: string): Promise<MigratedDatabase> =>
  migratedTestDatabase({ service: "warehouse", migrationsFolder, label });
