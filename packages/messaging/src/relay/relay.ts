import type { NatsConnection } from "@nats-io/nats-core";
import { sql as drizzleSql } from "drizzle-orm";
import type { Sql } from "postgres";
import { outboxMetrics } from "../metrics.js";
import type { CommittedRow } from "../outbox/row.js";
import { outbox } from "../schema.js";
import type { Database, Logger } from "../types.js";
import { Claims } from "./claims.js";
import { createHandOff } from "./hand-off.js";
import { createPublisher } from "./publisher.js";
import { createReader, markPublished, type ReadState } from "./reader.js";
import { createWakeUp, listenForCommits } from "./wake-up.js";

export interface OutboxRelayOptions {
  service: string;
  db: Database;
  /** A raw postgres-js client of the same database (default type parsing): LISTEN, and the batches. */
  sql: Sql;
  nc: NatsConnection;
  logger: Logger;
  batchSize?: number;
  /** Fallback polling when no NOTIFY arrives (e.g. the LISTEN connection is down). */
  pollIntervalMs?: number;
  publishTimeoutMs?: number;
  /** How long ids published by hand-off may wait to be marked, so one statement marks many (default 20 ms). */
  markDelayMs?: number;
}

export interface OutboxRelay {
  start(): void;
  /** Stops the loop after publishing what is pending (best effort, bounded in time). */
  stop(): Promise<void>;
  /** Tells the relay that rows were committed, from the process that wrote them. */
  wake(): void;
  /** Rows their writer has just committed (see hand-off.ts): published at once when nothing older may be pending. */
  handOff(rows: readonly CommittedRow[]): void;
  backlog(): Promise<{ pending: number; oldestAgeMs: number }>;
  /** Publishes until nothing is pending; for tests and shutdown. */
  flush(): Promise<void>;
}

// After finding another replica's relay holding the lock, try again this soon: its batch
// began before our rows committed, so it may not publish them.
const LOCK_RETRY_MS = 20;

/**
 * Publishes the outbox: the reads (reader.ts) in outbox order, the hand-offs
 * (hand-off.ts) at once, woken (wake-up.ts) by its own process, by NOTIFY, or by polling.
 */
export function createOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  const { service, db, logger, batchSize = 500, pollIntervalMs = 1000 } = options;
  const metrics = outboxMetrics();
  const claims = new Claims();
  const publisher = createPublisher(options.nc, options.publishTimeoutMs ?? 5000);
  const state: ReadState = { handOffs: false, lockBusy: false };
  const readAndPublish = createReader({
    service,
    sql: options.sql,
    batchSize,
    claims,
    publisher,
    state,
    logger,
  });
  const wakeUp = createWakeUp();
  let running = false;
  let loop: Promise<void> | undefined;
  let unlisten: (() => Promise<void>) | undefined;
  // Set by every wake: a row committed after the last read. A batch smaller than batchSize
  // read everything committed before it, so without one since, the relay sleeps at once.
  let notified = false;
  /** The mark timer fired: the loop marks what hand-offs published. */
  let markDue = false;

  const wake = () => {
    notified = true;
    wakeUp.wake();
  };
  const handOff = createHandOff({
    claims,
    publisher,
    state,
    logger,
    markDelayMs: options.markDelayMs ?? 20,
    running: () => running,
    read: wake,
    markDue: () => {
      markDue = true;
      wakeUp.wake();
    },
    onPublished: (n) => metrics.published.inc({ service }, n),
  });

  async function batch(): Promise<number> {
    const { found, published } = await readAndPublish();
    if (published > 0) metrics.published.inc({ service }, published);
    return found;
  }

  async function run(): Promise<void> {
    let failures = 0;
    let busyRetries = 0;
    let lastRead = Number.NEGATIVE_INFINITY;
    while (running) {
      try {
        // Woken only to mark hand-offs, and no poll due: no read.
        const sinceRead = performance.now() - lastRead;
        if (markDue && !notified && sinceRead < pollIntervalMs) {
          markDue = false;
          await markPublished(options.sql, claims);
          failures = 0;
          await wakeUp.sleep(pollIntervalMs - sinceRead);
          continue;
        }
        notified = false;
        markDue = false;
        lastRead = performance.now();
        const n = await batch();
        failures = 0;
        // Without LISTEN (it failed), nothing tells of new rows: read until empty, as polling does.
        if (n >= batchSize || notified || (n > 0 && !unlisten)) continue;
        // Bounded: a relay that never gets the lock falls back to polling.
        if (!state.lockBusy) busyRetries = 0;
        else if (busyRetries++ < 50) {
          if (busyRetries === 1)
            logger.debug({ service }, "outbox relay: another relay holds the lock; trying again soon");
          await wakeUp.sleep(LOCK_RETRY_MS);
          continue;
        }
      } catch (err) {
        failures++;
        if (failures === 1 || failures % 20 === 0) {
          logger.warn({ err, failures }, "outbox relay: batch failed, retrying");
        }
        await wakeUp.sleep(Math.min(5000, 100 * 2 ** Math.min(failures, 6)));
        continue;
      }
      await wakeUp.sleep(pollIntervalMs);
    }
  }

  async function flush(deadlineMs = 10_000): Promise<void> {
    const deadline = Date.now() + deadlineMs;
    await handOff.settle();
    while (Date.now() < deadline) {
      const { pending } = await relay.backlog();
      if (pending === 0) return;
      await batch().catch(() => wakeUp.sleep(100));
    }
  }

  const relay: OutboxRelay = {
    start() {
      if (running) return;
      running = true;
      void listenForCommits(options.sql, logger, wake).then((stop) => {
        unlisten = stop;
      });
      loop = run();
      metrics.register(service, relay);
    },
    async stop() {
      running = false;
      state.handOffs = false;
      handOff.cancelMark();
      wakeUp.wake();
      await loop;
      await flush(5000).catch((err) => logger.warn({ err }, "outbox relay: could not flush at stop"));
      await unlisten?.().catch(() => {});
      metrics.unregister(service);
    },
    async backlog() {
      const [row] = await db.execute<{ pending: number; oldest: string | null }>(
        drizzleSql`select count(*)::int as pending, min(created_at)::text as oldest from ${outbox} where published_at is null`,
      );
      const pending = Number(row?.pending ?? 0);
      const oldestAgeMs = row?.oldest ? Math.max(0, Date.now() - new Date(row.oldest).getTime()) : 0;
      return { pending, oldestAgeMs };
    },
    flush: () => flush(),
    handOff,
    wake,
  };
  return relay;
}
