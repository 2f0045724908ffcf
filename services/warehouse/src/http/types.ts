import type { HttpApp } from "@stockflow/service-kit";
import type { UnitOfWork } from "../app/ports.js";
import type { Queries } from "../app/queries.js";
import type { StaffAuth } from "./staff-auth.js";

export type { HttpApp };

export interface RouteDeps {
  uow: UnitOfWork;
  queries: Queries;
  auth: StaffAuth;
}
