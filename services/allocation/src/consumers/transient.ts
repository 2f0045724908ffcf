import { ConcurrencyConflict } from "../app/concurrency-conflict.js";

// PostgreSQL's own "try again" answers: serialization failure and deadlock.
const RETRYABLE_SQLSTATES = new Set(["40001", "40P01"]);

/** Failures that a fresh attempt of the whole message resolves: retried at once, in-process. */
export function isTransient(err: unknown): boolean {
  if (err instanceof ConcurrencyConflict) return true;
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" && RETRYABLE_SQLSTATES.has(code);
}
