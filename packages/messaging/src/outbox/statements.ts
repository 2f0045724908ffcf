import type { Statement } from "../driver.js";
import type { OutboxRow } from "./row.js";

/** The NOTIFY channel that wakes the relays of the other processes when an outbox row commits. */
export const OUTBOX_CHANNEL = "stockflow_outbox";

/**
 * The SQL that writes outbox rows selected from `source` (a relation with the columns
 * event_id uuid, subject text, payload jsonb, headers jsonb), in the order of `orderBy`,
 * answering `id, event_id` (text) for `committedRows`: for a statement that writes its own
 * rows and their events at once (as a CTE body).
 */
export function outboxInsertFrom(source: string, orderBy: string): string {
  return `insert into outbox (event_id, subject, payload, headers)
      select event_id, subject, payload, headers from ${source}
      order by ${orderBy}
      returning id::text as id, event_id::text as event_id`;
}

/**
 * Outbox rows as one statement for a raw postgres-js client, whatever their number, in the
 * order given (their ids follow it). Values go as text and are cast in SQL, so the client's
 * serializers do not matter. `notify: true` adds the NOTIFY that wakes the relays at
 * commit; without it the statement answers the rows' ids, for `committedRows` (a hand-off).
 */
export function outboxInsert(
  rows: readonly OutboxRow[],
  { notify = true }: { notify?: boolean } = {},
): Statement {
  const insert = `insert into outbox (event_id, subject, payload, headers)
      select t.event_id::uuid, t.subject, t.payload::jsonb, t.headers::jsonb
      from unnest($1::text[], $2::text[], $3::text[], $4::text[]) with ordinality
        as t(event_id, subject, payload, headers, n)
      order by t.n`;
  const params = [
    rows.map((r) => r.eventId),
    rows.map((r) => r.subject),
    rows.map((r) => JSON.stringify(r.payload)),
    rows.map((r) => JSON.stringify(r.headers)),
  ];
  if (!notify) return { text: `${insert} returning id::text as id, event_id::text as event_id`, params };
  return {
    text: `with written as (${insert} returning 1) select pg_notify($5::text, '') from written limit 1`,
    params: [...params, OUTBOX_CHANNEL],
  };
}
