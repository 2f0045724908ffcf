import { OUTBOX_CHANNEL, type OutboxRow } from "@stockflow/messaging";
import type { Statement } from "./statement.js";

/**
 * The outbox rows of one commit, in the order given (their ids follow it), as one statement
 * whatever their number, with the NOTIFY that wakes the relay at commit. Values go as text
 * and are cast in SQL: the client's serializers, which drizzle changes for JSON, do not matter.
 */
export function outboxInsert(rows: readonly OutboxRow[]): Statement {
  return {
    text: `with written as (
      insert into outbox (event_id, subject, payload, headers)
      select t.event_id::uuid, t.subject, t.payload::jsonb, t.headers::jsonb
      from unnest($1::text[], $2::text[], $3::text[], $4::text[]) with ordinality
        as t(event_id, subject, payload, headers, n)
      order by t.n
      returning 1
    ) select pg_notify($5::text, '') from written limit 1`,
    params: [
      rows.map((r) => r.eventId),
      rows.map((r) => r.subject),
      rows.map((r) => JSON.stringify(r.payload)),
      rows.map((r) => JSON.stringify(r.headers)),
      OUTBOX_CHANNEL,
    ],
  };
}
