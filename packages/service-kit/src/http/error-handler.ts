import { STATUS_CODES } from "node:http";
import type { Socket } from "node:net";
import { isDatabaseUnavailable } from "@stockflow/messaging";
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { HttpError } from "../http-error.js";

export interface ErrorBody {
  error: string;
  message: string;
}

export interface ErrorReply {
  status: number;
  body: ErrorBody;
  /** An unexpected failure: log it in full, answer nothing of it. */
  internal: boolean;
}

const CODES_BY_STATUS: Record<number, string> = {
  400: "bad_request",
  401: "unauthorized",
  403: "forbidden",
  404: "not_found",
  405: "method_not_allowed",
  406: "not_acceptable",
  408: "request_timeout",
  409: "conflict",
  411: "length_required",
  413: "payload_too_large",
  415: "unsupported_media_type",
  422: "unprocessable_entity",
  429: "too_many_requests",
  431: "request_header_fields_too_large",
  503: "service_unavailable",
};

interface ValidationDetail {
  keyword?: string;
  params?: { additionalProperty?: string };
}

function validationMessage(err: FastifyError): string {
  const first = (err.validation as ValidationDetail[] | undefined)?.[0];
  const unknown = first?.keyword === "additionalProperties" ? first.params?.additionalProperty : undefined;
  return unknown ? `${err.message}: unknown field "${unknown}"` : err.message;
}

/** Maps anything a route or fastify throws to the contract's `{"error","message"}` reply. */
export function toErrorReply(err: unknown): ErrorReply {
  if (err instanceof HttpError) {
    return {
      status: err.status,
      body: { error: err.code, message: err.message },
      internal: err.status >= 500,
    };
  }
  const e = err as Partial<FastifyError>;
  if (e.validation) {
    return {
      status: 400,
      body: { error: "validation_failed", message: validationMessage(e as FastifyError) },
      internal: false,
    };
  }
  switch (e.code) {
    case "FST_ERR_BAD_URL":
      return {
        status: 400,
        body: { error: "invalid_url", message: "the URL is not valid (malformed percent-encoding)" },
        internal: false,
      };
    case "FST_ERR_MAX_PARAM_LENGTH":
      // The same answer as a parameter over its schema's maxLength, however long it is.
      return {
        status: 400,
        body: { error: "validation_failed", message: "a path parameter is too long" },
        internal: false,
      };
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return {
        status: 413,
        body: { error: "payload_too_large", message: "request body is too large" },
        internal: false,
      };
    case "FST_ERR_CTP_INVALID_JSON_BODY":
      return {
        status: 400,
        body: { error: "invalid_json", message: "request body is not valid JSON" },
        internal: false,
      };
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return {
        status: 415,
        body: { error: "unsupported_media_type", message: "request bodies must be application/json" },
        internal: false,
      };
  }
  // Other client errors fastify or its plugins raise carry a status and a safe message.
  const status = e.statusCode;
  if (typeof status === "number" && status >= 400 && status < 500) {
    return {
      status,
      body: { error: CODES_BY_STATUS[status] ?? "bad_request", message: e.message ?? "bad request" },
      internal: false,
    };
  }
  // The request was fine and nothing was written: the client may send it again shortly
  // (with its Idempotency-Key), which a 500 would not tell it.
  if (isDatabaseUnavailable(err)) {
    return {
      status: 503,
      body: { error: "service_unavailable", message: "the database is unavailable; retry shortly" },
      internal: false,
    };
  }
  return { status: 500, body: { error: "internal_error", message: "internal error" }, internal: true };
}

/** One error handler and one not-found handler for the whole app. */
export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err, request, reply) => {
    const { status, body, internal } = toErrorReply(err);
    if (internal) request.log.error({ err }, "request failed");
    else if (status === 503) request.log.warn({ err, status, error: body.error }, body.message);
    else request.log.info({ status, error: body.error }, body.message);
    if (status === 503) void reply.header("retry-after", "1");
    return reply.code(status).type("application/json").send(body);
  });
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split("?")[0];
    return reply.code(404).send({ error: "not_found", message: `no route ${request.method} ${path}` });
  });
}

/** Fastify's `frameworkErrors`: errors raised before a route is found (bad URL, over-long parameter). */
export function answerFrameworkError(err: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const { status, body, internal } = toErrorReply(err);
  if (internal) request.log.error({ err }, "request failed");
  else request.log.info({ status, error: body.error }, body.message);
  void reply.code(status).type("application/json").send(body);
}

const CLIENT_ERROR_STATUS: Record<string, number> = {
  HPE_HEADER_OVERFLOW: 431,
  ERR_HTTP_REQUEST_TIMEOUT: 408,
};

/**
 * Fastify's `clientErrorHandler`: HTTP that Node cannot parse never reaches a route; it is
 * answered on the socket with the same `{"error","message"}` shape, then the socket closes.
 */
export function answerClientError(err: Error & { code?: string }, socket: Socket): void {
  if (err.code === "ECONNRESET" || socket.destroyed) return;
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const status = CLIENT_ERROR_STATUS[err.code ?? ""] ?? 400;
  const body = JSON.stringify({
    error: CODES_BY_STATUS[status] ?? "bad_request",
    message: "the request is not valid HTTP",
  });
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
