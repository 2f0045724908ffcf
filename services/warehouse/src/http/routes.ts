import type { UnitOfWork } from "../app/ports.js";
import type { Queries } from "../app/queries.js";
import { consoleRoutes } from "./console.js";
import { batchRoutes } from "./routes/batches.js";
import { dispatchRoutes } from "./routes/dispatches.js";
import { staffRoutes } from "./routes/staff.js";
import { staffAuth } from "./staff-auth.js";
import type { HttpApp } from "./types.js";

export interface WarehouseRoutesDeps {
  uow: UnitOfWork;
  queries: Queries;
  /** WAREHOUSE_STAFF_TOKEN; undefined refuses every write. */
  staffToken: string | undefined;
}

/**
 * Adds the warehouse API and the staff console to an app built by the service kit. Reads are
 * open; writes need the staff token.
 */
export function registerWarehouseRoutes(
  app: HttpApp,
  { uow, queries, staffToken }: WarehouseRoutesDeps,
): void {
  const deps = { uow, queries, auth: staffAuth(staffToken) };
  batchRoutes(app, deps);
  dispatchRoutes(app, deps);
  staffRoutes(app, deps);
  consoleRoutes(app);
}
