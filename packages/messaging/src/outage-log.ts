import type { Logger } from "./types.js";
import { isDatabaseUnavailable } from "./unavailable.js";

export interface OutageLogOptions {
  logger: Logger;
  /** What is away, as operators name it: "NATS", "PostgreSQL". */
  dependency: string;
  /** Who noticed, e.g. "outbox relay", "consumer allocation-ordering". */
  component: string;
  /** Least time between two reminders while it stays away (default 5 s). */
  reminderMs?: number;
  now?: () => number;
}

export interface OutageLog {
  /** An attempt failed because the dependency is away: one line now, then a reminder at most every reminderMs. */
  down(err: unknown): void;
  /** An attempt succeeded: one line saying it is back and how long it was away, if it was. */
  up(): void;
  isDown(): boolean;
}

/** The error as one short field set: its message and code, never its stack (4 KB a line). */
export function briefError(err: unknown): { error: string; code?: string } {
  const e = err as { message?: unknown; code?: unknown } | undefined;
  const error = typeof e?.message === "string" ? e.message : String(err);
  const code = e?.code;
  return typeof code === "string" || typeof code === "number" ? { error, code: String(code) } : { error };
}

/**
 * Logs an outage of a dependency as an operator wants to read it: once when it goes away
 * (with the error), a reminder at most every few seconds while it stays away (with the
 * failures since the last line), once when it is back (with how long it was away). A
 * component retrying every 100 ms would otherwise write a line, and a stack, per attempt.
 */
export function outageLog({
  logger,
  dependency,
  component,
  reminderMs = 5000,
  now = () => Date.now(),
}: OutageLogOptions): OutageLog {
  let since: number | undefined;
  let lastLine = 0;
  let failures = 0;
  return {
    down(err) {
      const t = now();
      failures++;
      if (since === undefined) {
        since = t;
        lastLine = t;
        failures = 0;
        logger.warn(
          { dependency, component, ...briefError(err) },
          `${component}: ${dependency} unavailable: ${briefError(err).error}`,
        );
        return;
      }
      if (t - lastLine < reminderMs) return;
      lastLine = t;
      const downForMs = t - since;
      logger.warn(
        { dependency, component, downForMs, failures, ...briefError(err) },
        `${component}: ${dependency} still unavailable after ${(downForMs / 1000).toFixed(1)} s (${failures} failed attempts since the last line): ${briefError(err).error}`,
      );
      failures = 0;
    },
    up() {
      if (since === undefined) return;
      const downForMs = now() - since;
      since = undefined;
      failures = 0;
      logger.info(
        { dependency, component, downForMs },
        `${component}: ${dependency} is back after ${(downForMs / 1000).toFixed(1)} s`,
      );
    },
    isDown: () => since !== undefined,
  };
}

export interface DependencyOutages {
  /** A failed attempt: counted against PostgreSQL when the database is away, against NATS otherwise. */
  failed(err: unknown): void;
  /** A successful attempt: whatever was away is back. */
  succeeded(): void;
}

/** The outages of a component that talks to PostgreSQL and NATS (the outbox relay). */
export function dependencyOutages(
  logger: Logger,
  component: string,
  options: Pick<OutageLogOptions, "reminderMs" | "now"> = {},
): DependencyOutages {
  const database = outageLog({ logger, dependency: "PostgreSQL", component, ...options });
  const nats = outageLog({ logger, dependency: "NATS", component, ...options });
  return {
    failed: (err) => (isDatabaseUnavailable(err) ? database : nats).down(err),
    succeeded() {
      database.up();
      nats.up();
    },
  };
}
