import type { FastifyInstance } from "fastify";

const WINDOW_MS = 60_000;

/**
 * Caps requests per client address and minute (fixed one-minute windows), answering 429
 * with `Retry-After` beyond the cap. In memory and per process: it protects one
 * instance from a runaway client; it is not a global quota.
 */
export function limitRequestsPerMinute(
  scope: FastifyInstance,
  perMinute: number,
  now: () => number = Date.now,
): void {
  if (perMinute <= 0) return;
  let windowStart = now();
  let counts = new Map<string, number>();
  scope.addHook("onRequest", async (request, reply) => {
    const t = now();
    if (t - windowStart >= WINDOW_MS) {
      // A new window forgets every client, so the map never outgrows one minute's callers.
      windowStart = t - ((t - windowStart) % WINDOW_MS);
      counts = new Map();
    }
    const count = (counts.get(request.ip) ?? 0) + 1;
    counts.set(request.ip, count);
    if (count > perMinute) {
      const retryAfter = Math.max(1, Math.ceil((windowStart + WINDOW_MS - t) / 1000));
      return reply
        .code(429)
        .header("retry-after", String(retryAfter))
        .send({
          error: "too_many_requests",
          message: `more than ${perMinute} requests per minute; retry later`,
        });
    }
  });
}
