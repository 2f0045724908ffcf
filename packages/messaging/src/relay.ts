import { jetstream } from "@nats-io/jetstream";
import { type NatsConnection, headers as natsHeaders } from "@nats-io/nats-core";
import { SpanStatusCode, trace } from "@opentelemetry/api";
import { injectIntoHeaders, restoreContext, startProducerSpan } from "@stockflow/telemetry";
import { sql } from "drizzle-orm";
import type { Sql } from "postgres";
import { outboxMetrics } from "./metrics.js";
import { dependencyOutages } from "./outage-log.js";
import { OUTBOX_CHANNEL, type OutboxRow } from "./outbox.js";
import { outbox } from "./schema.js";
import type { Database, Logger } from "./types.js";

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
  /**
   * How long ids published by `handOff` may wait to be marked published, so that one
   * statement marks the hand-offs of many transactions (default 20 ms). A crash in between
   * publishes them again, with the same Nats-Msg-Id.
   */
  markDelayMs?: number;
}

/** An outbox row its writer has just committed, with the id the outbox gave it. */
export interface CommittedRow extends OutboxRow {
  id: string;
}

export interface OutboxRelay {
  start(): void;
  /** Stops the loop after publishing what is pending (best effort, bounded in time). */
  stop(): Promise<void>;
  /**
   * Tells the relay that rows were committed, from the process that wrote them: cheaper and
   * sooner than a NOTIFY (no statement, no notification back through PostgreSQL).
   */
  wake(): void;
  /**
   * Rows their writer has just committed, handed over by the process that wrote them: the
   * relay publishes them at once, without reading them back, and marks them published a
   * little later, many hand-offs in one statement. While rows committed earlier may still be
   * unpublished (at start, after a failed publish) it reads instead, in outbox order.
   */
  handOff(rows: readonly CommittedRow[]): void;
  backlog(): Promise<{ pending: number; oldestAgeMs: number }>;
  /** Publishes until nothing is pending; for tests and shutdown. */
  flush(): Promise<void>;
}

// Column names the relay strips from the stored headers: they describe the context the
// event was written under, and are replaced by the producer span's own.
const TRACE_KEYS = new Set(["traceparent", "tracestate"]);

// After finding another replica's relay holding the lock, try again this soon: its batch
// began before our rows committed, so it may not publish them.
const LOCK_RETRY_MS = 20;

/** An outbox row as the raw client reads it (jsonb parsed, bigint as text); id is null when none is pending. */
interface PendingRow {
  locked: boolean;
  id: string;
  event_id: string;
  subject: string;
  payload: unknown;
  headers: Record<string, string>;
}

/** A set whose members are forgotten after `ttlMs` to twice that (two generations). */
function recentIds(ttlMs: number) {
  let current = new Set<string>();
  let previous = new Set<string>();
  let rotatedAt = performance.now();
  const rotate = () => {
    const now = performance.now();
    if (now - rotatedAt < ttlMs) return;
    previous = now - rotatedAt < 2 * ttlMs ? current : new Set();
    current = new Set();
    rotatedAt = now;
  };
  return {
    add(id: string) {
      rotate();
      current.add(id);
    },
    has(id: string) {
      rotate();
      return current.has(id) || previous.has(id);
    },
    delete(id: string) {
      current.delete(id);
      previous.delete(id);
    },
  };
}

export function createOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  const {
    service,
    db,
    nc,
    logger,
    batchSize = 500,
    pollIntervalMs = 1000,
    publishTimeoutMs = 5000,
    markDelayMs = 20,
  } = options;
  const js = jetstream(nc, { timeout: publishTimeoutMs });
  const metrics = outboxMetrics();
  const outages = dependencyOutages(logger, `outbox relay (${service})`);
  let running = false;
  let loop: Promise<void> | undefined;
  let wake: (() => void) | undefined;
  // Set by every NOTIFY: a row committed after the last read. A batch smaller than
  // batchSize read everything committed before it, so without a NOTIFY since, the relay
  // sleeps at once instead of running an empty read.
  let notified = false;
  /** The last batch found another replica's relay publishing. */
  let lockBusy = false;
  let unlisten: (() => Promise<void>) | undefined;
  /**
   * Hand-offs publish at once only while nothing older may be pending: set when a read
   * finds nothing left (every row committed before it is published), cleared when a
   * hand-off's publish fails (that row, and the ones after it, go in outbox order again).
   */
  let handOffs = false;
  /**
   * Ids of rows this relay is publishing, or has published and not marked yet, whichever way
   * they came (hand-off or read): neither way publishes them again. A read can see a row
   * committed before its writer's hand-off reaches the relay; without this, both would
   * publish it: JetStream would store it once (same Nats-Msg-Id), but a core subscriber on
   * the subject would get it twice.
   */
  const claimed = new Set<string>();
  /**
   * Ids published in the last 10-20 s, whichever way: a hand-off reaches the relay after a
   * read published its rows (and marked them) when the writer was slow to hand them over,
   * and a read's answer can hold a row a hand-off published and marked meanwhile.
   */
  const recent = recentIds(10_000);
  /** Ids published and not marked yet (claimed until marked). */
  let published: string[] = [];
  const inFlight = new Set<Promise<void>>();
  let markTimer: NodeJS.Timeout | undefined;
  /** The mark timer fired: the loop marks what hand-offs published. */
  let markDue = false;

  async function publish(row: OutboxRow): Promise<void> {
    const span = startProducerSpan(row.subject, row.eventId, restoreContext(row.headers));
    try {
      const h = natsHeaders();
      for (const [k, v] of Object.entries(row.headers)) if (!TRACE_KEYS.has(k)) h.set(k, v);
      injectIntoHeaders(trace.setSpan(restoreContext(row.headers), span), h);
      // Nats-Msg-Id = ce-id: a row published again after a crash is dropped by the broker.
      await js.publish(row.subject, JSON.stringify(row.payload), { msgID: row.eventId, headers: h });
    } catch (err) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
      span.setAttribute("error.type", (err as Error).name);
      throw err;
    } finally {
      span.end();
    }
  }

  /**
   * One batch in one transaction; returns how many pending rows it read. It runs on the raw
   * `sql` client, not on `db`: holding a transaction open while the broker acks would
   * otherwise take one of the few connections the service's requests and handlers share.
   * Two round trips to PostgreSQL per batch: BEGIN goes out with the read, and the marking
   * with the COMMIT (postgres-js as patched here: a transaction's unsent queries that its
   * callback returns are pipelined with the COMMIT). Not a reserved connection: postgres-js
   * 3.4.9 can lose a reservation across a database outage, and the relay would wait forever.
   */
  async function publishBatch(): Promise<number> {
    let count = 0;
    let found = 0;
    // Handed-off rows published since the last statement that marked some: marked first,
    // in the same transaction, so the read below does not see them pending.
    const marking = takePublished();
    /** Rows this batch read and published, until their marking commits. */
    let sent: string[] = [];
    try {
      await options.sql.begin(async (tx) => {
        if (marking.length > 0) {
          // Its failure aborts the transaction, which the read below reports.
          tx`update outbox set published_at = now() where id = any(${marking}::bigint[])`
            .execute()
            .catch(() => {});
        }
        // One publisher per service at a time keeps the stream in outbox order (per-SKU order)
        // even with several replicas; the others find the lock taken and try again soon. The
        // lock is taken in the same statement as the read, which says whether it was free.
        // Rows claimed (a hand-off is publishing them, or they await marking) are passed over.
        const read = await tx<PendingRow[]>`
          select l.locked, o.id, o.event_id, o.subject, o.payload, o.headers
          from (select pg_try_advisory_xact_lock(hashtext(${`outbox:${service}`})) as locked) l
          left join lateral (
            select id, event_id, subject, payload, headers from outbox
            where l.locked and published_at is null and id <> all(${[...claimed]}::bigint[])
            order by id limit ${batchSize}
          ) o on true`;
        lockBusy = read[0]?.locked === false;
        const pending = read.filter((r) => r.id !== null);
        found = pending.length;
        // Handed off while the read ran: the hand-off publishes them.
        const rows = pending.filter((r) => !claimed.has(r.id) && !recent.has(r.id));
        for (const r of rows) claim(r.id);
        if (rows.length === 0) {
          // Nothing committed before this read is left unpublished: hand-offs may go at once.
          if (!lockBusy) handOffs = true;
          return marking.length > 0 ? [tx`set local synchronous_commit = off`] : [];
        }
        const results = await Promise.allSettled(rows.map((r) => publish({ ...r, eventId: r.event_id })));
        const firstFailure = results.findIndex((r) => r.status === "rejected");
        const done = firstFailure === -1 ? rows : rows.slice(0, firstFailure);
        sent = done.map((r) => r.id);
        for (const r of rows.slice(done.length)) unclaim(r.id);
        if (firstFailure !== -1) {
          handOffs = false;
          const reason = (results[firstFailure] as PromiseRejectedResult).reason as Error;
          outages.failed(reason);
          if (done.length === 0) throw reason;
        } else if (pending.length < batchSize && !lockBusy) handOffs = true;
        count = done.length;
        // One statement marks the whole batch; returned unsent, it goes out with the COMMIT.
        // That COMMIT need not wait for its WAL flush (asynchronous commit): a crash that loses
        // the marking publishes the rows again, with the same Nats-Msg-Id, which JetStream's
        // duplicate window drops; the relay's next batch starts that much sooner.
        return [
          tx`set local synchronous_commit = off`,
          tx`update outbox set published_at = now() where id = any(${done.map((r) => r.id)}::bigint[])`,
        ];
      });
    } catch (err) {
      // Published and not marked: marked by the next statement, not published again.
      published = marking.concat(sent, published);
      throw err;
    }
    for (const id of marking) claimed.delete(id);
    for (const id of sent) claimed.delete(id);
    if (count > 0) metrics.published.inc({ service }, count);
    return found;
  }

  function claim(id: string): void {
    claimed.add(id);
    recent.add(id);
  }

  /** Its publish failed: it may be published again. */
  function unclaim(id: string): void {
    claimed.delete(id);
    recent.delete(id);
  }

  function takePublished(): string[] {
    const ids = published;
    published = [];
    return ids;
  }

  /** Marks the handed-off rows published so far: one statement, one round trip. */
  async function markPublished(): Promise<void> {
    const ids = takePublished();
    if (ids.length === 0) return;
    try {
      await options.sql.begin((tx) => [
        tx`set local synchronous_commit = off`,
        tx`update outbox set published_at = now() where id = any(${ids}::bigint[])`,
      ]);
    } catch (err) {
      published = ids.concat(published);
      throw err;
    }
    for (const id of ids) claimed.delete(id);
  }

  function handOff(rows: readonly CommittedRow[]): void {
    if (rows.length === 0) return;
    if (!running || !handOffs) {
      relay.wake();
      return;
    }
    // A read that saw them first publishes them.
    const fresh = rows.filter((r) => !claimed.has(r.id) && !recent.has(r.id));
    if (fresh.length === 0) return;
    for (const r of fresh) claim(r.id);
    // Sent in order on the one connection: the stream stores them in this order.
    const task = Promise.allSettled(fresh.map(publish)).then((results) => {
      const firstFailure = results.findIndex((r) => r.status === "rejected");
      const done = firstFailure === -1 ? fresh : fresh.slice(0, firstFailure);
      for (const r of fresh.slice(done.length)) unclaim(r.id);
      for (const r of done) published.push(r.id);
      if (done.length > 0) metrics.published.inc({ service }, done.length);
      if (firstFailure !== -1) {
        // This row and the ones after it go back to the outbox's order: read, not handed off.
        handOffs = false;
        outages.failed((results[firstFailure] as PromiseRejectedResult).reason);
        relay.wake();
      }
      if (!markTimer && published.length > 0) {
        markTimer = setTimeout(() => {
          markTimer = undefined;
          markDue = true;
          wake?.();
        }, markDelayMs);
      }
    });
    inFlight.add(task);
    void task.finally(() => inFlight.delete(task));
  }

  function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wake = undefined;
        resolve();
      }
      wake = done;
    });
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
          await markPublished();
          failures = 0;
          await sleep(pollIntervalMs - sinceRead);
          continue;
        }
        notified = false;
        markDue = false;
        lastRead = performance.now();
        const n = await publishBatch();
        failures = 0;
        outages.succeeded();
        // Without LISTEN (it failed), nothing tells of new rows: read until empty, as polling does.
        if (n >= batchSize || notified || (n > 0 && !unlisten)) continue;
        // Bounded: a relay that never gets the lock falls back to polling.
        if (!lockBusy) busyRetries = 0;
        else if (busyRetries++ < 50) {
          if (busyRetries === 1)
            logger.debug({ service }, "outbox relay: another relay holds the lock; trying again soon");
          await sleep(LOCK_RETRY_MS);
          continue;
        }
      } catch (err) {
        failures++;
        outages.failed(err);
        await sleep(Math.min(5000, 100 * 2 ** Math.min(failures, 6)));
        continue;
      }
      await sleep(pollIntervalMs);
    }
  }

  async function listen(): Promise<void> {
    try {
      const sub = await options.sql.listen(OUTBOX_CHANNEL, () => {
        notified = true;
        wake?.();
      });
      unlisten = () => sub.unlisten();
    } catch (err) {
      logger.warn({ err }, "outbox relay: LISTEN failed, polling only");
    }
  }

  async function flush(deadlineMs = 10_000): Promise<void> {
    const deadline = Date.now() + deadlineMs;
    while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
    while (Date.now() < deadline) {
      const { pending } = await relay.backlog();
      if (pending === 0) return;
      await publishBatch().catch(() => sleep(100));
    }
  }

  const relay: OutboxRelay = {
    start() {
      if (running) return;
      running = true;
      void listen();
      loop = run();
      metrics.register(service, relay);
    },
    async stop() {
      running = false;
      handOffs = false;
      clearTimeout(markTimer);
      markTimer = undefined;
      wake?.();
      await loop;
      await flush(5000).catch((err) => logger.warn({ err }, "outbox relay: could not flush at stop"));
      await unlisten?.().catch(() => {});
      metrics.unregister(service);
    },
    async backlog() {
      const [row] = await db.execute<{ pending: number; oldest: string | null }>(
        sql`select count(*)::int as pending, min(created_at)::text as oldest from ${outbox} where published_at is null`,
      );
      const pending = Number(row?.pending ?? 0);
      const oldestAgeMs = row?.oldest ? Math.max(0, Date.now() - new Date(row.oldest).getTime()) : 0;
      return { pending, oldestAgeMs };
    },
    flush: () => flush(),
    handOff,
    wake() {
      notified = true;
      wake?.();
    },
  };
  return relay;
}
