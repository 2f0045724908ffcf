import { buildHttpApp, type HttpApp, limitRatePerClient, type Readiness } from "@stockflow/service-kit";
import type { Logger } from "@stockflow/telemetry";
import type { OrderWaiters } from "../app/order-waiters.js";
import type { HandlerDeps, UnitOfWork } from "../app/ports.js";
import { customerRoutes } from "./routes/customers.js";
import { orderRoutes } from "./routes/orders.js";

export interface OrderingAppDeps {
  logger: Logger;
  readiness: Readiness;
  uow: UnitOfWork;
  handlers: HandlerDeps;
  /** The requests waiting for an order (`?wait=`): released when the app closes. */
  waiters: OrderWaiters;
  /** Storefront requests per client address and minute; 0 turns the limit off. */
  rateLimitPerMinute: number;
  version?: string;
}

/** The storefront API on top of the shared service app (health, metrics, docs, errors). */
export async function buildOrderingApp(deps: OrderingAppDeps): Promise<HttpApp> {
  const app = await buildHttpApp({
    service: "ordering",
    logger: deps.logger,
    readiness: deps.readiness,
    ...(deps.version ? { version: deps.version } : {}),
  });
  // Before the server waits for in-flight requests to end: a held request answers now.
  app.addHook("preClose", (done) => {
    deps.waiters.releaseAll();
    done();
  });
  // A child scope, so the rate limit covers the storefront API but not the probes.
  await app.register(async (scope) => {
    await limitRatePerClient(scope, deps.rateLimitPerMinute);
    orderRoutes(scope, deps);
    customerRoutes(scope, deps);
  });
  return app;
}
