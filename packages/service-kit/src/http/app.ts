import { randomUUID } from "node:crypto";
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import { context } from "@opentelemetry/api";
import type { Logger } from "@stockflow/telemetry";
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  LogController,
  type RawReplyDefaultExpression,
  type RawRequestDefaultExpression,
  type RawServerDefault,
} from "fastify";
import type { Readiness } from "../readiness.js";
import { answerClientError, answerFrameworkError, installErrorHandling } from "./error-handler.js";
import { registerMetrics } from "./metrics.js";
import { openApiOptions, PROBE, RETRY_AFTER, type SecurityScheme } from "./openapi.js";
import { securityHeaders } from "./security-headers.js";
import { registerServerSpans, requestContext, routePattern } from "./server-span.js";
import { containsUnstorableText } from "./storable-text.js";

/** The app every service adds its routes to: TypeBox schemas type the handlers. */
export type HttpApp = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

export interface HttpAppOptions {
  service: string;
  version?: string;
  logger: Logger;
  readiness: Readiness;
  /** Largest accepted request body in bytes; larger ones are answered 413. */
  bodyLimit?: number;
  /**
   * Security schemes of the OpenAPI document, by name; a route that needs one says so in
   * `schema.security` (e.g. `[{ staffToken: [] }]`). Routes that name none are public.
   */
  securitySchemes?: Record<string, SecurityScheme>;
}

const MiB = 1024 * 1024;

/**
 * Builds the service's Fastify app with what every service shares: JSON-only bodies that
 * must match their schema exactly, `{"error","message"}` errors, security headers, a
 * SERVER span per request, /healthz, /readyz, /metrics and /docs. Add routes to the
 * returned app (after awaiting it, so they appear in the OpenAPI document).
 */
export async function buildHttpApp({
  service,
  version = "0.0.0",
  logger,
  readiness,
  bodyLimit = MiB,
  securitySchemes,
}: HttpAppOptions): Promise<HttpApp> {
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    bodyLimit,
    // Path parameters (SKUs, references, ids) may be up to 200 characters by contract.
    routerOptions: { maxParamLength: 512 },
    requestIdHeader: "x-request-id",
    genReqId: () => randomUUID(),
    // One line per request is written in onResponse below, with route and duration.
    logController: new LogController({ disableRequestLogging: true }),
    // Errors raised before routing (a malformed URL, an over-long path parameter) and
    // malformed HTTP get the same {"error","message"} answer as everything else.
    frameworkErrors: answerFrameworkError,
    clientErrorHandler: answerClientError,
    // A request that reaches a connection still open while closing is served (the database
    // and NATS are still there until HTTP has drained), not refused: see the hooks below.
    return503OnClosing: false,
    ajv: {
      customOptions: {
        // Unknown fields are refused (400), never stripped; types are never coerced.
        removeAdditional: false,
        coerceTypes: false,
        useDefaults: true,
        allErrors: false,
      },
    },
  }).withTypeProvider<TypeBoxTypeProvider>();

  installErrorHandling(app);
  registerServerSpans(app);

  // JSON only: text/plain (fastify's other default) is answered 415. An empty JSON body
  // means "no body" (body-less POSTs from clients that always send the header).
  app.removeContentTypeParser("text/plain");
  const parseJson = app.getDefaultJsonParser("error", "error");
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser("application/json", { parseAs: "string" }, (request, body, done) => {
    const text = typeof body === "string" ? body : body.toString("utf8");
    if (text === "") done(null, undefined);
    else parseJson(request, text, done);
  });
  app.addHook("preValidation", (request, _reply, done) => {
    const body = request.body;
    if (body !== undefined && (typeof body !== "object" || body === null || Array.isArray(body))) {
      const err = Object.assign(new Error("body must be a JSON object"), {
        validation: [{ keyword: "type" }],
        statusCode: 400,
      });
      done(err);
      return;
    }
    // Path parameters are left to the routes: an id that cannot be stored names nothing,
    // and each route answers its own 404 for it (see isStorableText).
    if (containsUnstorableText(request.query) || containsUnstorableText(body)) {
      const err = Object.assign(new Error("text must not contain NUL or unpaired UTF-16 surrogates"), {
        validation: [{ keyword: "pattern" }],
        statusCode: 400,
      });
      done(err);
      return;
    }
    done();
  });

  // A line per request only at debug: at info it was a synchronous stdout write per request
  // (and the request metric and span already count them). 5xx answers stay at warn; errors
  // and 4xx reasons are logged by the error handler.
  app.addHook("onResponse", (request, reply, done) => {
    const level = reply.statusCode >= 500 ? "warn" : "debug";
    // request.log is a child of the pino logger given as loggerInstance.
    if ((request.log as Logger).isLevelEnabled(level)) {
      const log = () =>
        request.log[level](
          {
            method: request.method,
            route: routePattern(request),
            url: request.url,
            statusCode: reply.statusCode,
            durationMs: Math.round(reply.elapsedTime * 10) / 10,
          },
          "request completed",
        );
      const ctx = requestContext(request);
      if (ctx) context.with(ctx, log);
      else log();
    }
    done();
  });

  const headers = await securityHeaders({ contentSecurityPolicy: false });
  // From close() on, every answer ends its connection, so a kept-alive client stops reusing
  // it and close() completes without tearing down a connection a request may be crossing.
  // A request already on its way over an open connection (sent before the signal, read
  // after it) is served like any other: refusing it would fail a request the client sent
  // while the service was up.
  let closing = false;
  app.addHook("preClose", (done) => {
    closing = true;
    done();
  });
  app.addHook("onRequest", (_request, reply, done) => {
    reply.headers(headers);
    done();
  });
  app.addHook("onSend", (_request, reply, _payload, done) => {
    if (closing) reply.header("connection", "close");
    done();
  });
  await app.register(
    swagger,
    openApiOptions({ service, version, ...(securitySchemes ? { securitySchemes } : {}) }),
  );
  await app.register(swaggerUi, { routePrefix: "/docs" });

  registerMetrics(app);

  // The probes' answers are documented (config.openapi), not schemas: nothing changes how
  // they are serialized.
  app.get(
    "/healthz",
    {
      schema: { summary: "Liveness: the process runs", tags: [PROBE] },
      config: {
        openapi: { responses: { 200: probeAnswer("alive", { status: { type: "string", enum: ["ok"] } }) } },
      },
    },
    async () => ({ status: "ok" }),
  );
  app.get(
    "/readyz",
    {
      schema: {
        summary: "Readiness: the database and NATS answer and the consumers run",
        tags: [PROBE],
      },
      config: {
        openapi: {
          responses: {
            200: probeAnswer("ready", readyBody),
            503: { ...probeAnswer("not ready: `checks` names what is not", readyBody), headers: RETRY_AFTER },
          },
        },
      },
    },
    async (_request, reply) => {
      const { ready, checks } = await readiness();
      if (!ready) void reply.header("retry-after", "1");
      return reply.code(ready ? 200 : 503).send({ status: ready ? "ready" : "not_ready", checks });
    },
  );

  return app;
}

const readyBody = {
  status: { type: "string", enum: ["ready", "not_ready"] },
  checks: {
    type: "object",
    additionalProperties: { type: "boolean" },
    description: "database, nats, consumers: true when that one is ready",
  },
};

function probeAnswer(description: string, properties: Record<string, unknown>) {
  return { type: "object", description, properties, required: Object.keys(properties) };
}
