import type { DbOrTx } from "@stockflow/messaging";
import { and, asc, eq, lt, sql } from "drizzle-orm";
import type { DispatchRepository } from "../../app/ports.js";
import type { DispatchInstruction } from "../../domain/index.js";
import { dispatchInstructions as di } from "./tables.js";

const columns = {
  orderId: di.orderId,
  sku: di.sku,
  batchref: di.batchref,
  qty: di.qty,
  status: di.status,
  version: di.version,
};

export function dispatchRepository(db: DbOrTx): DispatchRepository {
  return {
    async getForUpdate({ orderId, sku, batchref }) {
      const [row] = await db
        .select(columns)
        .from(di)
        .where(and(eq(di.orderId, orderId), eq(di.sku, sku), eq(di.batchref, batchref)))
        .for("update");
      return row;
    },
    async save(instruction: DispatchInstruction) {
      // The version guard repeats the domain's rule in SQL, so two consumers racing on a key
      // that did not exist yet still end with the newer event's state.
      await db
        .insert(di)
        .values(instruction)
        .onConflictDoUpdate({
          target: [di.orderId, di.sku, di.batchref],
          set: {
            qty: instruction.qty,
            status: instruction.status,
            version: instruction.version,
            updatedAt: sql`now()`,
          },
          setWhere: lt(di.version, instruction.version),
        });
    },
    async listByOrder(orderId) {
      return db
        .select(columns)
        .from(di)
        .where(eq(di.orderId, orderId))
        .orderBy(asc(di.createdAt), asc(di.sku), asc(di.batchref));
    },
  };
}
