import { isDatabaseUnavailable } from "../unavailable.js";

/** In-process retries of a batch that failed with a transient error, before it counts as failed. */
export const IMMEDIATE_RETRIES = 10;

/**
 * How many messages of one batch may fail on their own (each is nak'ed and the others run
 * again as a batch) before the rest of the batch goes one message per transaction. Bounds
 * the re-runs a batch full of failing messages costs.
 */
export const BLAMED_PER_BATCH = 2;

export interface FailurePolicy {
  /** Deliveries before a failing message goes to the DLQ. */
  maxAttempts: number;
  /** Delay before redelivery after the n-th failure; the last entry repeats. */
  retryDelaysMs: readonly number[];
  /** Errors worth retrying at once in-process, e.g. an optimistic concurrency conflict. */
  isTransient: (err: unknown) => boolean;
}

export const DEFAULT_RETRY_DELAYS_MS = [500, 2000, 5000, 10_000] as const;

/** The nak delay after the `attempt`-th delivery failed. */
export function retryDelay(policy: Pick<FailurePolicy, "retryDelaysMs">, attempt: number): number {
  const delays = policy.retryDelaysMs;
  return delays[Math.min(attempt - 1, delays.length - 1)] ?? 1000;
}

/**
 * Whether a message that failed at its `attempt`-th delivery goes to the DLQ. A transient
 * error (a conflict that outlived the in-process retries) or a database outage says nothing
 * about the message itself: it is redelivered for as long as it takes.
 */
export function deadLetters(policy: FailurePolicy, attempt: number, err: unknown): boolean {
  return attempt >= policy.maxAttempts && !policy.isTransient(err) && !isDatabaseUnavailable(err);
}

/** SQLSTATE of an error or of one of its causes (drizzle wraps driver errors). */
export function sqlState(err: unknown): string | undefined {
  for (let e = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && code.length === 5) return code;
  }
  return undefined;
}

/**
 * Whether an error thrown while a handler ran is that handler's message's own: not the
 * database's, nor a conflict, nor the aborted transaction (25P02) an earlier handler left.
 */
export function blamesTheMessage(policy: Pick<FailurePolicy, "isTransient">, err: unknown): boolean {
  return !policy.isTransient(err) && !isDatabaseUnavailable(err) && sqlState(err) !== "25P02";
}
