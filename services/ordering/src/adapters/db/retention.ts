import type { RetentionRule } from "@stockflow/messaging";

/**
 * Idempotency keys answer their first order for `olderThanMs` (IDEMPOTENCY_RETENTION, 24 h
 * by default); the messaging kit's retention sweep deletes older ones with the outbox and
 * inbox rows, oldest first on `idempotency_keys_created_idx`.
 */
export function idempotencyKeysRetention(olderThanMs: number): RetentionRule {
  return { table: "idempotency_keys", column: "created_at", olderThanMs };
}
