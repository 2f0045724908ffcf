import { sql } from "drizzle-orm";
import { inbox } from "../schema.js";
import type { Tx } from "../types.js";

/**
 * Records message ids in the inbox, in `tx`; answers the ids it recorded now, i.e. not
 * handled before. The statement is sent at once: handlers' statements may follow it on the
 * connection before its answer (see attempt.ts). Ids as arrays keep its text the same
 * whatever their number, so it is prepared once per connection.
 */
export function recordInbox(
  tx: Tx,
  durable: string,
  ids: readonly string[],
  subjects: readonly string[],
): Promise<Set<string>> {
  const recording = tx
    .insert(inbox)
    .select(
      sql`select ${durable}::text, t.id, t.subject, now()
        from unnest(${sql.param(ids)}::text[], ${sql.param(subjects)}::text[]) as t (id, subject)`,
    )
    .onConflictDoNothing()
    .returning({ id: inbox.messageId })
    .prepare("stockflow_inbox_record")
    .execute();
  return recording.then((rows) => new Set(rows.map((r) => r.id)));
}
