import {
  type Context,
  context,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from "@opentelemetry/api";
import {
  ATTR_CLIENT_ADDRESS,
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_NETWORK_PROTOCOL_VERSION,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ATTR_URL_PATH,
  ATTR_URL_QUERY,
  ATTR_URL_SCHEME,
  ATTR_USER_AGENT_ORIGINAL,
} from "@opentelemetry/semantic-conventions";
import { tracer } from "@stockflow/telemetry";
import type { FastifyInstance, FastifyRequest } from "fastify";

interface RequestSpan {
  span: Span;
  ctx: Context;
  ended: boolean;
}

const spans = new WeakMap<FastifyRequest, RequestSpan>();

/** The route pattern (`/orders/:orderId`), or undefined when no route matched. */
export function routePattern(request: FastifyRequest): string | undefined {
  return request.is404 ? undefined : request.routeOptions.url;
}

function end(request: FastifyRequest, statusCode: number): void {
  const entry = spans.get(request);
  if (!entry || entry.ended) return;
  entry.ended = true;
  entry.span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, statusCode);
  if (statusCode >= 500) {
    entry.span.setStatus({ code: SpanStatusCode.ERROR });
    entry.span.setAttribute(ATTR_ERROR_TYPE, String(statusCode));
  }
  entry.span.end();
}

/**
 * One SERVER span per request, continuing a `traceparent` sent by the caller, named
 * "<METHOD> <route pattern>", and ACTIVE while the route handler runs, so whatever the
 * handler writes (logs, outbox rows) carries its trace context.
 */
/** Probes polled every few seconds by orchestrators and Prometheus: no trace of their own. */
const UNTRACED = new Set(["/healthz", "/readyz", "/metrics"]);

/** The HTTP semantic conventions' required and recommended attributes of a server span. */
function requestAttributes(request: FastifyRequest, route: string | undefined) {
  const [path = "/", query] = request.url.split(/\?(.*)/s);
  const port = request.port ?? request.socket?.localPort;
  return {
    [ATTR_HTTP_REQUEST_METHOD]: request.method,
    [ATTR_URL_PATH]: path,
    [ATTR_URL_SCHEME]: request.protocol,
    [ATTR_SERVER_ADDRESS]: request.hostname,
    ...(port ? { [ATTR_SERVER_PORT]: Number(port) } : {}),
    [ATTR_NETWORK_PROTOCOL_VERSION]: request.raw.httpVersion,
    ...(request.ip ? { [ATTR_CLIENT_ADDRESS]: request.ip } : {}),
    ...(query ? { [ATTR_URL_QUERY]: query } : {}),
    ...(request.headers["user-agent"] ? { [ATTR_USER_AGENT_ORIGINAL]: request.headers["user-agent"] } : {}),
    ...(route ? { [ATTR_HTTP_ROUTE]: route } : {}),
  };
}

export function registerServerSpans(app: FastifyInstance): void {
  app.addHook("onRequest", (request, reply, done) => {
    const route = routePattern(request);
    if (route && UNTRACED.has(route)) {
      done();
      return;
    }
    const parent = propagation.extract(ROOT_CONTEXT, request.headers);
    const span = tracer().startSpan(
      route ? `${request.method} ${route}` : request.method,
      { kind: SpanKind.SERVER, attributes: requestAttributes(request, route) },
      parent,
    );
    const ctx = trace.setSpan(parent, span);
    spans.set(request, { span, ctx, ended: false });
    // W3C Trace Context level 2: tells the caller which trace to look up in Jaeger.
    const sc = span.spanContext();
    reply.header("traceresponse", `00-${sc.traceId}-${sc.spanId}-0${sc.traceFlags & 1}`);
    // Hooks up to preValidation also run in the span (logs of auth, rate limit ...).
    context.with(ctx, done);
  });

  // Body parsing runs on stream events outside any context; re-enter the span before the
  // handler. fastify calls the next hook and then the handler synchronously from done().
  app.addHook("preHandler", (request, _reply, done) => {
    const entry = spans.get(request);
    if (entry) context.with(entry.ctx, done);
    else done();
  });

  app.addHook("onError", (request, _reply, err, done) => {
    const entry = spans.get(request);
    entry?.span.recordException(err);
    done();
  });

  app.addHook("onResponse", (request, reply, done) => {
    end(request, reply.statusCode);
    done();
  });

  app.addHook("onRequestAbort", (request, done) => {
    const entry = spans.get(request);
    entry?.span.setAttribute(ATTR_ERROR_TYPE, "aborted");
    end(request, 499);
    done();
  });
}

/** The active-span context of a request, e.g. to log under it after the response. */
export function requestContext(request: FastifyRequest): Context | undefined {
  return spans.get(request)?.ctx;
}
