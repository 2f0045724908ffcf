import rateLimit from "@fastify/rate-limit";
import type { FastifyInstance } from "fastify";
import { HttpError } from "../http-error.js";
import { errorAnswer, RETRY_AFTER } from "./openapi.js";

const MINUTE_MS = 60_000;

/**
 * Caps requests per client address and minute on the routes added to `scope` after this
 * call (register a child scope to leave the probes out), with @fastify/rate-limit: beyond
 * the cap, `429 {"error":"too_many_requests"}` with `Retry-After` (seconds). In memory and
 * per process: it protects one instance from a runaway client, it is not a global quota.
 * `perMinute` 0 turns it off.
 */
export async function limitRatePerClient(scope: FastifyInstance, perMinute: number): Promise<void> {
  if (perMinute <= 0) return;
  const tooMany = errorAnswer(`more than ${perMinute} requests per minute from this client`, RETRY_AFTER);
  scope.addHook("onRoute", (route) => {
    const docs = route.config?.openapi;
    route.config = { ...route.config, openapi: { ...docs, responses: { ...docs?.responses, 429: tooMany } } };
  });
  await scope.register(rateLimit, {
    max: perMinute,
    timeWindow: MINUTE_MS,
    keyGenerator: (request) => request.ip,
    // Retry-After on the 429; the draft x-ratelimit-* headers are left out.
    addHeaders: {
      "x-ratelimit-limit": false,
      "x-ratelimit-remaining": false,
      "x-ratelimit-reset": false,
      "retry-after": true,
    },
    addHeadersOnExceeding: {
      "x-ratelimit-limit": false,
      "x-ratelimit-remaining": false,
      "x-ratelimit-reset": false,
    },
    errorResponseBuilder: (_request, { after }) =>
      new HttpError(
        429,
        "too_many_requests",
        `more than ${perMinute} requests per minute; retry in ${after}`,
      ),
  });
}
