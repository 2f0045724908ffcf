import {
  createRetention,
  messagingRetentionRules,
  type Retention,
  type RetentionRule,
} from "@stockflow/messaging";
import type { RetentionSettings } from "@stockflow/service-kit";
import type { Logger } from "@stockflow/telemetry";
import type { Sql } from "postgres";

/**
 * Idempotency keys answer their first order for `olderThanMs` (IDEMPOTENCY_RETENTION, 24 h
 * by default); the retention sweep deletes older ones, oldest first on
 * `idempotency_keys_created_idx`.
 */
export function idempotencyKeysRetention(olderThanMs: number): RetentionRule {
  return { table: "idempotency_keys", column: "created_at", olderThanMs };
}

/** What ordering deletes as it expires: the kit's outbox and inbox rows, and idempotency keys. */
export function orderingRetention(options: {
  sql: Sql;
  logger: Logger;
  retention: RetentionSettings;
  idempotencyRetentionMs: number;
}): Retention {
  return createRetention({
    service: "ordering",
    sql: options.sql,
    logger: options.logger,
    rules: [
      ...messagingRetentionRules(options.retention),
      idempotencyKeysRetention(options.idempotencyRetentionMs),
    ],
  });
}
