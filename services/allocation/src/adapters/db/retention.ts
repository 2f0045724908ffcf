import type { RetentionRule } from "@stockflow/messaging";

/**
 * Order records that are not tombstones, `olderThanMs` after they were written. Such a
 * record only serializes a placement with a cancellation racing it in another replica; once
 * committed it guards nothing: a cancellation that comes later writes its own tombstone, and
 * a placement handled twice finds the order's lines (the product allocates an order once).
 * The service still keeps it for INBOX_RETENTION, as long as the inbox keeps the placement's
 * id, so the two age together and no redelivery ever meets a half-forgotten order. Tombstones stay: a placement may come after
 * its cancellation at any time (a redelivery, or a dead letter replayed days later under the
 * same ce-id, which no inbox remembers because it was never processed), and only the
 * tombstone stops it from allocating stock to a cancelled order.
 */
export function orderRecordsRetention(olderThanMs: number): RetentionRule {
  return { table: "order_records", column: "recorded_at", olderThanMs, where: "not cancelled" };
}
