import type { Sql } from "postgres";
import { pipelinedBegin } from "../driver.js";
import type { DependencyOutages } from "../outage-log.js";
import type { Claims } from "./claims.js";
import type { Publisher } from "./publisher.js";

/** What the reads tell the rest of the relay. */
export interface ReadState {
  /**
   * Hand-offs publish at once only while nothing older may be pending: set when a read
   * finds nothing left (every row committed before it is published), cleared when a publish
   * fails (that row, and the ones after it, go in outbox order again).
   */
  handOffs: boolean;
  /** The last read found another replica's relay publishing. */
  lockBusy: boolean;
}

export interface ReaderOptions {
  service: string;
  sql: Sql;
  batchSize: number;
  claims: Claims;
  publisher: Publisher;
  state: ReadState;
  /** Where a failed publish is told (logged once per outage, not per attempt). */
  outages: DependencyOutages;
}

/** An outbox row as the raw client reads it (jsonb parsed, bigint as text); id is null when none is pending. */
interface PendingRow {
  locked: boolean;
  id: string;
  event_id: string;
  subject: string;
  payload: unknown;
  headers: Record<string, string>;
}

/**
 * Reads pending rows in outbox order and publishes them: one batch in one transaction, on
 * the raw `sql` client, not on drizzle's pool (holding a transaction open while the broker
 * acks would take one of the connections the service's requests and handlers share). Two
 * round trips per batch: the transaction is pipelined (driver.ts), so BEGIN goes out with
 * the read, and the marking, which the callback returns unsent, with the COMMIT. Not a
 * reserved connection: postgres-js 3.4.9 can lose a reservation across a database outage.
 * Answers how many published rows it found and how many it published.
 */
export function createReader({ service, sql, batchSize, claims, publisher, state, outages }: ReaderOptions) {
  return async function readAndPublish(): Promise<{ found: number; published: number }> {
    let found = 0;
    // Rows published by hand-off since the last marking: marked first, in the same
    // transaction, so the read below does not see them pending.
    const marking = claims.takeUnmarked();
    /** Rows this batch read and published, until their marking commits. */
    let sent: string[] = [];
    try {
      await pipelinedBegin(sql, async (tx) => {
        if (marking.length > 0) {
          // Its failure aborts the transaction, which the read below reports.
          tx`update outbox set published_at = now() where id = any(${marking}::bigint[])`
            .execute()
            .catch(() => {});
        }
        // One publisher per service at a time keeps the stream in outbox order (per-key order)
        // even with several replicas; the others find the lock taken and try again soon. The
        // lock is taken in the same statement as the read, which says whether it was free.
        const read = await tx<PendingRow[]>`
          select l.locked, o.id, o.event_id, o.subject, o.payload, o.headers
          from (select pg_try_advisory_xact_lock(hashtext(${`outbox:${service}`})) as locked) l
          left join lateral (
            select id, event_id, subject, payload, headers from outbox
            where l.locked and published_at is null and id <> all(${claims.claimedIds()}::bigint[])
            order by id limit ${batchSize}
          ) o on true`;
        state.lockBusy = read[0]?.locked === false;
        const pending = read.filter((r) => r.id !== null);
        found = pending.length;
        // Handed off while the read ran: the hand-off publishes them.
        const rows = pending.filter((r) => claims.isFresh(r.id)).map((r) => ({ ...r, eventId: r.event_id }));
        for (const r of rows) claims.claim(r.id);
        if (rows.length === 0) {
          if (!state.lockBusy) state.handOffs = true;
          return marking.length > 0 ? [tx`set local synchronous_commit = off`] : [];
        }
        const { done, rest, failure } = await publisher.publishAll(rows);
        sent = done.map((r) => r.id);
        for (const r of rest) claims.unclaim(r.id);
        if (failure) {
          state.handOffs = false;
          outages.failed(failure);
          if (done.length === 0) throw failure;
        } else if (pending.length < batchSize && !state.lockBusy) state.handOffs = true;
        // One statement marks the batch; returned unsent, it goes out with the COMMIT, which
        // need not wait for its WAL flush: a crash that loses the marking publishes the rows
        // again with the same Nats-Msg-Id, which JetStream's duplicate window drops.
        return [
          tx`set local synchronous_commit = off`,
          tx`update outbox set published_at = now() where id = any(${sent}::bigint[])`,
        ];
      });
    } catch (err) {
      claims.notMarked([...marking, ...sent]);
      throw err;
    }
    claims.marked(marking);
    claims.marked(sent);
    return { found, published: sent.length };
  };
}

/** Marks the rows hand-offs published so far: one statement, sent with BEGIN and COMMIT (one round trip). */
export async function markPublished(sql: Sql, claims: Claims): Promise<void> {
  const ids = claims.takeUnmarked();
  if (ids.length === 0) return;
  try {
    await pipelinedBegin(sql, (tx) => [
      tx`set local synchronous_commit = off`,
      tx`update outbox set published_at = now() where id = any(${ids}::bigint[])`,
    ]);
  } catch (err) {
    claims.notMarked(ids);
    throw err;
  }
  claims.marked(ids);
}
