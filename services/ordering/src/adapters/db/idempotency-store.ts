import { eq, lt, sql } from "drizzle-orm";
import type { IdempotencyStore, StoredAnswer } from "../../app/ports.js";
import type { Executor } from "./executor.js";
import { idempotencyKeys } from "./tables.js";

/** Keys are kept at least this long; older ones are purged by `purgeIdempotencyKeys`. */
export const IDEMPOTENCY_KEY_TTL_MS = 24 * 60 * 60 * 1000;

export function idempotencyStore(db: Executor): IdempotencyStore {
  return {
    async claim(key, answer) {
      // Twice at most: the earlier holder's row can vanish between our insert and select
      // only if it was purged in between, and then our second insert wins.
      for (let attempt = 0; attempt < 2; attempt++) {
        // On a conflict with an uncommitted insert, PostgreSQL waits for that transaction:
        // if it commits we read its answer, if it rolls back our insert goes through.
        const inserted = await db
          .insert(idempotencyKeys)
          .values({ key, ...answer })
          .onConflictDoNothing({ target: idempotencyKeys.key })
          .returning({ key: idempotencyKeys.key });
        if (inserted.length > 0) return undefined;
        const [earlier] = await db
          .select({
            requestHash: idempotencyKeys.requestHash,
            statusCode: idempotencyKeys.statusCode,
            response: idempotencyKeys.response,
          })
          .from(idempotencyKeys)
          .where(eq(idempotencyKeys.key, key));
        if (earlier) return earlier satisfies StoredAnswer;
      }
      throw new Error(`idempotency key ${key} could be neither claimed nor read`);
    },
  };
}

/** Deletes keys older than the TTL; returns how many. */
export async function purgeIdempotencyKeys(db: Executor, now = new Date()): Promise<number> {
  const cutoff = new Date(now.getTime() - IDEMPOTENCY_KEY_TTL_MS);
  const deleted = await db
    .delete(idempotencyKeys)
    .where(lt(idempotencyKeys.createdAt, sql`${cutoff.toISOString()}::timestamptz`))
    .returning({ key: idempotencyKeys.key });
  return deleted.length;
}
