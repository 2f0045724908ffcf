import { type DbOrTx, sendPrepared } from "@stockflow/messaging";
import type { BatchNews } from "../../app/ports.js";

// A row comes back when the news was recorded (first of its kind, or newer than the one
// recorded); none when an equal or newer one was applied already. The row lock also
// serializes two news of one batch handled at once by two replicas.
const RECORD = `insert into batch_news as n (reference, kind, stream_sequence)
  values ($1::text, $2::text, $3::bigint)
  on conflict (reference, kind) do update set stream_sequence = excluded.stream_sequence
  where n.stream_sequence < excluded.stream_sequence
  returning 1 as recorded`;

/** Batch news positions over a transaction's connection. */
export function batchNews(tx: DbOrTx): BatchNews {
  return {
    async isNewest(reference, kind, position) {
      const rows = await sendPrepared(tx, { text: RECORD, params: [reference, kind, position] });
      return rows.length > 0;
    },
  };
}
