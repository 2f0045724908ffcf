import { fileURLToPath } from "node:url";
import { createUnitOfWork, type Database } from "@stockflow/messaging";
import { openDatabase } from "@stockflow/service-kit";
import { createLogger } from "@stockflow/telemetry";
import { createTestDatabase } from "@stockflow/testkit";

export const migrationsFolder = fileURLToPath(new URL("../drizzle", import.meta.url));
export const quietLogger = () => createLogger({ service: "allocation", level: "silent" });

/**
 * The kit's unit of work over `db`, as `createMessaging` gives the service one: the service's
 * units of work keep their product sessions through it. Its rows carry the NOTIFY (no relay).
 */
export function kitUnitOfWork(db: Database) {
  return createUnitOfWork({ service: "allocation", db, handOff: () => {} });
}

/** A fresh database with the service's migrations applied; `dispose` closes and drops it. */
export async function migratedTestDatabase(label: string) {
  const testDb = await createTestDatabase(label);
  const database = await openDatabase({
    url: testDb.url,
    service: "allocation",
    migrationsFolder,
    logger: quietLogger(),
  });
  return {
    url: testDb.url,
    ...database,
    async dispose() {
      await database.close();
      await testDb.drop();
    },
  };
}
