import postgres, { type Sql } from "postgres";
import { type ServiceName, type Stack, serviceNames } from "./stack.js";

/** A postgres-js client on each service's own database, for checks the HTTP APIs cannot make. */
export type ServiceDatabases = Record<ServiceName, Sql> & { close(): Promise<void> };

/**
 * Opens one small client per service database. postgres-js reconnects lazily, so the
 * clients outlive a database restart. Close them before the stack drops the databases.
 */
export function openServiceDatabases(stack: Stack): ServiceDatabases {
  const clients = Object.fromEntries(
    serviceNames.map((name) => [
      name,
      postgres(stack.databases[name].url, { max: 2, onnotice: () => {}, connect_timeout: 5 }),
    ]),
  ) as Record<ServiceName, Sql>;
  return {
    ...clients,
    async close() {
      await Promise.all(serviceNames.map((name) => clients[name].end({ timeout: 2 })));
    },
  };
}
