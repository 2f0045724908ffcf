import { fileURLToPath } from "node:url";
import { type Database, openDatabase } from "@stockflow/service-kit";
import { createLogger } from "@stockflow/telemetry";
import { createTestDatabase, type TestDatabase } from "@stockflow/testkit";

export const migrationsFolder = fileURLToPath(new URL("../drizzle", import.meta.url));

export const quietLogger = () => createLogger({ service: "warehouse-test", level: "silent" });

export interface MigratedDatabase extends Database {
  readonly testDb: TestDatabase;
}

/** A fresh database migrated the way the service migrates its own at start. */
export async function migratedDatabase(label: string): Promise<MigratedDatabase> {
  const testDb = await createTestDatabase(label);
  const database = await openDatabase({
    url: testDb.url,
    service: "warehouse",
    migrationsFolder,
    logger: quietLogger(),
  });
  return {
    ...database,
    testDb,
    async close() {
      await database.close();
      await testDb.drop();
    },
  };
}
