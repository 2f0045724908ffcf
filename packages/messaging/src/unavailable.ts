// Errors that say the database (or the network to it) is away, not that the message is bad:
// node socket errors, postgres-js connection errors, and SQLSTATE class 08 (connection
// exception) or 57P01-57P03 (the server shutting down or starting up).
const CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "CONNECT_TIMEOUT",
  "57P01",
  "57P02",
  "57P03",
]);

/**
 * Whether a handler failed because its database was unreachable. Such a failure is retried
 * for as long as the outage lasts and never dead-lettered: the message did nothing wrong.
 * drizzle wraps driver errors, so the chain of `cause`s is searched too.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  for (let e = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && (CODES.has(code) || code.startsWith("08"))) return true;
  }
  return false;
}
