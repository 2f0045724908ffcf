import { buildHttpApp, type HttpApp, type Readiness } from "@stockflow/service-kit";
import type { Logger } from "@stockflow/telemetry";
import type { AllocationViews } from "../app/views.js";
import { allocationRoutes } from "./routes/allocations.js";
import { productRoutes } from "./routes/products.js";

export interface AppDeps {
  logger: Logger;
  readiness: Readiness;
  views: AllocationViews;
  version?: string;
}

/** The read API, on top of what every service serves (/healthz, /readyz, /metrics, /docs). */
export async function buildApp({ logger, readiness, views, version }: AppDeps): Promise<HttpApp> {
  const app = await buildHttpApp({
    service: "allocation",
    logger,
    readiness,
    ...(version ? { version } : {}),
  });
  allocationRoutes(app, views);
  productRoutes(app, views);
  return app;
}
