import type { DbOrTx } from "@stockflow/messaging";
import { asc, eq, sql } from "drizzle-orm";
import type { BatchRepository } from "../../app/ports.js";
import type { Batch } from "../../domain/index.js";
import { batches } from "./tables.js";

const columns = { reference: batches.reference, sku: batches.sku, qty: batches.qty, eta: batches.eta };

export function batchRepository(db: DbOrTx): BatchRepository {
  return {
    async get(reference) {
      const [row] = await db.select(columns).from(batches).where(eq(batches.reference, reference));
      return row;
    },
    async listBySku(sku) {
      // Stock on hand first, then shipments by eta, then in the order they were registered:
      // the order allocation prefers them in.
      return db
        .select(columns)
        .from(batches)
        .where(eq(batches.sku, sku))
        .orderBy(sql`${batches.eta} asc nulls first`, asc(batches.createdAt), asc(batches.reference));
    },
    async getForUpdate(reference) {
      const [row] = await db
        .select(columns)
        .from(batches)
        .where(eq(batches.reference, reference))
        .for("update");
      return row;
    },
    async add(batch: Batch) {
      // "do nothing" waits for a concurrent insert of the same reference and then yields no row.
      const inserted = await db
        .insert(batches)
        .values(batch)
        .onConflictDoNothing({ target: batches.reference })
        .returning({ reference: batches.reference });
      return inserted.length === 1;
    },
    async update(batch: Batch) {
      await db
        .update(batches)
        .set({ qty: batch.qty, eta: batch.eta, updatedAt: sql`now()` })
        .where(eq(batches.reference, batch.reference));
    },
  };
}
