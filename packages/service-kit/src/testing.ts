import { createLogger } from "@stockflow/telemetry";
import { createTestDatabase, type TestDatabase } from "@stockflow/testkit";
import { type Database, openDatabase } from "./database.js";

// A test entry of its own (`@stockflow/service-kit/testing`), not in testkit: it migrates
// with service-kit's openDatabase, and testkit cannot import service-kit (service-kit and
// messaging test with testkit). testkit is a devDependency: only tests load this file.

export interface MigratedTestDatabase extends Database {
  readonly url: string;
  readonly testDb: TestDatabase;
  /** Ends the pools, then drops the database. */
  close(): Promise<void>;
}

/**
 * A fresh database (testkit's createTestDatabase) migrated the way the service migrates its
 * own at start (openDatabase: its drizzle migrations under its advisory lock).
 */
export async function migratedTestDatabase(options: {
  service: string;
  migrationsFolder: string;
  /** Names the database (a prefix of it): one per test file. */
  label: string;
}): Promise<MigratedTestDatabase> {
  const testDb = await createTestDatabase(options.label);
  const database = await openDatabase({
    url: testDb.url,
    service: options.service,
    migrationsFolder: options.migrationsFolder,
    logger: createLogger({ service: options.service, level: "silent" }),
  });
  return {
    ...database,
    url: testDb.url,
    testDb,
    async close() {
      await database.close();
      await testDb.drop();
    },
  };
}
