import { BatchNotRegistered } from "../app/batch-not-registered.js";
import { ConcurrencyConflict } from "../app/concurrency-conflict.js";

// PostgreSQL's own "try again" answers: serialization failure and deadlock.
const RETRYABLE_SQLSTATES = new Set(["40001", "40P01"]);

/**
 * Failures that a later attempt of the whole message resolves: retried at once, in-process,
 * then redelivered after the retry delays, and never dead-lettered. News of a batch not
 * registered yet is one: its registration may be held by a replica that died, and comes back
 * only after ack_wait (30 s), longer than the retry ladder before the DLQ (~17 s).
 */
export function isTransient(err: unknown): boolean {
  if (err instanceof ConcurrencyConflict || err instanceof BatchNotRegistered) return true;
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" && RETRYABLE_SQLSTATES.has(code);
}
