import { lt, sql } from "drizzle-orm";
import type { Executor } from "./executor.js";
import { idempotencyKeys } from "./tables.js";

/** Keys are kept at least this long; older ones are purged by `purgeIdempotencyKeys`. */
export const IDEMPOTENCY_KEY_TTL_MS = 24 * 60 * 60 * 1000;

/** Deletes keys older than the TTL; returns how many. */
export async function purgeIdempotencyKeys(db: Executor, now = new Date()): Promise<number> {
  const cutoff = new Date(now.getTime() - IDEMPOTENCY_KEY_TTL_MS);
  const deleted = await db
    .delete(idempotencyKeys)
    .where(lt(idempotencyKeys.createdAt, sql`${cutoff.toISOString()}::timestamptz`))
    .returning({ key: idempotencyKeys.key });
  return deleted.length;
}
