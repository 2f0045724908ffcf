import type { FastifyInstance } from "fastify";
import { Histogram, register } from "prom-client";
import { PROBE } from "./openapi.js";
import { collectProcessMetrics } from "./process-metrics.js";
import { routePattern } from "./server-span.js";

function requestDuration(): Histogram<"method" | "route" | "status_code"> {
  const existing = register.getSingleMetric("http_request_duration_seconds");
  if (existing) return existing as Histogram<"method" | "route" | "status_code">;
  return new Histogram({
    name: "http_request_duration_seconds",
    help: "HTTP request duration by method, route pattern and status",
    labelNames: ["method", "route", "status_code"],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  });
}

/** GET /metrics in Prometheus text, with process metrics and the request duration histogram. */
export function registerMetrics(app: FastifyInstance): void {
  // prom-client's default register is per process; a second app (tests) must not re-register.
  collectProcessMetrics();
  const histogram = requestDuration();

  app.addHook("onResponse", (request, reply, done) => {
    histogram.observe(
      {
        method: request.method,
        // Unmatched paths share one label, or every probe would add a series.
        route: routePattern(request) ?? "unmatched",
        status_code: String(reply.statusCode),
      },
      reply.elapsedTime / 1000,
    );
    done();
  });

  app.get(
    "/metrics",
    {
      schema: { summary: "Prometheus metrics in the text exposition format", tags: [PROBE] },
      config: {
        openapi: {
          responses: {
            200: {
              description: "every metric of the process",
              content: { [register.contentType]: { schema: { type: "string" } } },
            },
          },
        },
      },
    },
    async (_request, reply) => {
      return reply.type(register.contentType).send(await register.metrics());
    },
  );
}
