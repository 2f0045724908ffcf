import { fileURLToPath } from "node:url";
import { openDatabase } from "@stockflow/service-kit";
import { createLogger, type Logger } from "@stockflow/telemetry";
import { createTestDatabase } from "@stockflow/testkit";

export const migrationsFolder = fileURLToPath(new URL("../../drizzle", import.meta.url));

export const silentLogger = (): Logger => createLogger({ service: "ordering", level: "silent" });

/**
 * A fresh database migrated the way the service migrates its own (service-kit's
 * openDatabase); `close` ends the pools and drops it.
 */
export async function migratedDatabase(label: string) {
  const testDb = await createTestDatabase(label);
  const database = await openDatabase({
    url: testDb.url,
    service: "ordering",
    migrationsFolder,
    logger: silentLogger(),
  });
  return {
    url: testDb.url,
    sql: database.sql,
    db: database.db,
    async close() {
      await database.close();
      await testDb.drop();
    },
  };
}
