import { fileURLToPath } from "node:url";
import { openDatabase } from "@stockflow/service-kit";
import { createLogger } from "@stockflow/telemetry";
import { createTestDatabase } from "@stockflow/testkit";

export const migrationsFolder = fileURLToPath(new URL("../drizzle", import.meta.url));
export const quietLogger = () => createLogger({ service: "allocation", level: "silent" });

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
