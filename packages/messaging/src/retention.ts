import type { Sql } from "postgres";
import client from "prom-client";
import { dependencyOutages } from "./outage-log.js";
import type { Logger } from "./types.js";

/** Rows of one table that may go: `column` older than `olderThanMs`, and `where` if given. */
export interface RetentionRule {
  table: string;
  /** A timestamptz column with an index (the sweep reads the oldest rows first). */
  column: string;
  olderThanMs: number;
  /** Extra SQL condition, e.g. `published_at is not null`. Trusted text, never input. */
  where?: string;
}

export interface RetentionOptions {
  service: string;
  /** A raw postgres-js client of the service's database. */
  sql: Sql;
  logger: Logger;
  rules: readonly RetentionRule[];
  /** Rows one statement deletes at most (default 500): short transactions, short locks. */
  batchSize?: number;
  /** Time between sweeps (default: a quarter of the shortest retention, within 1 s..60 s). */
  intervalMs?: number;
}

export interface Retention {
  start(): void;
  stop(): Promise<void>;
  /** Deletes what has expired now, batch after batch; rows deleted per table. Another replica sweeping: nothing. */
  sweep(): Promise<Record<string, number>>;
}

/** The kit's own tables: published outbox rows and processed inbox ids. */
export function messagingRetentionRules({
  outboxMs,
  inboxMs,
}: {
  outboxMs: number;
  inboxMs: number;
}): RetentionRule[] {
  return [
    { table: "outbox", column: "published_at", olderThanMs: outboxMs, where: "published_at is not null" },
    { table: "inbox", column: "processed_at", olderThanMs: inboxMs },
  ];
}

function deletedCounter(): client.Counter<string> {
  const name = "stockflow_retention_deleted_rows_total";
  return (
    (client.register.getSingleMetric(name) as client.Counter<string> | undefined) ??
    new client.Counter({
      name,
      help: "rows deleted as their retention expired",
      labelNames: ["service", "table"],
    })
  );
}

const ident = (name: string) => `"${name.replace(/"/g, '""')}"`;

/**
 * Deletes expired rows in the service's own database, by the service itself: each sweep
 * takes a transaction-level advisory lock per batch, so one replica at a time deletes (the
 * others find it taken and skip that sweep), and picks the oldest rows on the column's index
 * with `skip locked`, so it never waits on a row a transaction is writing.
 */
export function createRetention(options: RetentionOptions): Retention {
  const { service, sql, logger, rules, batchSize = 500 } = options;
  const shortest = Math.min(...rules.map((r) => r.olderThanMs));
  const intervalMs = options.intervalMs ?? Math.min(60_000, Math.max(1000, Math.floor(shortest / 4)));
  const deleted = deletedCounter();
  const lockKey = `retention:${service}`;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> | undefined;
  let started = false;
  let stopping = false;
  const outages = dependencyOutages(logger, `retention (${service})`);

  /** One batch of one rule; undefined when another replica holds the lock. */
  async function deleteBatch(rule: RetentionRule): Promise<number | undefined> {
    const table = ident(rule.table);
    const column = ident(rule.column);
    const extra = rule.where ? `and (${rule.where})` : "";
    return sql.begin(async (tx) => {
      const [lock] = await tx<
        { locked: boolean }[]
      >`select pg_try_advisory_xact_lock(hashtext(${lockKey})) as locked`;
      if (!lock?.locked) return undefined;
      const rows = await tx.unsafe(
        `delete from ${table} where ctid = any(array(
           select ctid from ${table}
           where ${column} < now() - make_interval(secs => $1::double precision / 1000) ${extra}
           order by ${column} limit $2 for update skip locked))`,
        [rule.olderThanMs, batchSize],
      );
      return rows.count;
    });
  }

  async function sweep(): Promise<Record<string, number>> {
    const counts: Record<string, number> = {};
    for (const rule of rules) {
      let total = 0;
      for (;;) {
        const n = await deleteBatch(rule);
        if (n === undefined) return counts;
        total += n;
        if (n > 0) deleted.inc({ service, table: rule.table }, n);
        if (n < batchSize || stopping) break;
      }
      counts[rule.table] = total;
    }
    return counts;
  }

  function schedule(): void {
    if (stopping) return;
    timer = setTimeout(() => {
      running = sweep()
        .then((counts) => {
          outages.succeeded();
          const total = Object.values(counts).reduce((a, b) => a + b, 0);
          if (total > 0) logger.debug({ deleted: counts }, "retention: deleted expired rows");
        })
        .catch((err: unknown) => outages.failed(err))
        .finally(schedule);
    }, intervalMs);
    timer.unref();
  }

  return {
    start() {
      if (started) return;
      started = true;
      stopping = false;
      schedule();
    },
    async stop() {
      stopping = true;
      started = false;
      clearTimeout(timer);
      await running;
    },
    sweep,
  };
}
