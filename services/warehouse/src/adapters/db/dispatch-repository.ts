import type { DbOrTx } from "@stockflow/messaging";
import { and, asc, eq, sql } from "drizzle-orm";
import type { DispatchRepository, LineKey } from "../../app/ports.js";
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

// Rows travel as parallel arrays (unnest), as text cast in SQL: a statement's text is the
// same whatever the number of rows, so it is prepared once per connection (one round trip
// instead of two), and the client's serializers do not matter.
const texts = (values: readonly unknown[]) => sql`${sql.param(values.map(String))}::text[]`;

export function dispatchRepository(db: DbOrTx): DispatchRepository {
  return {
    async getManyForUpdate(keys: readonly LineKey[]) {
      if (keys.length === 0) return [];
      const orderIds = texts(keys.map((k) => k.orderId));
      // order_id = any(...) reaches the primary key's index; sorted, so two transactions lock
      // shared rows in one order.
      return db
        .select(columns)
        .from(di)
        .where(
          and(
            sql`${di.orderId} = any(${orderIds})`,
            sql`(${di.orderId}, ${di.sku}, ${di.batchref}) in (select * from unnest(${orderIds}, ${texts(keys.map((k) => k.sku))}, ${texts(keys.map((k) => k.batchref))}))`,
          ),
        )
        .orderBy(asc(di.orderId), asc(di.sku), asc(di.batchref))
        .for("update")
        .prepare("warehouse_dispatches_for_update")
        .execute();
    },
    async saveMany(instructions: readonly DispatchInstruction[]) {
      if (instructions.length === 0) return;
      const column = <K extends keyof DispatchInstruction>(k: K) => texts(instructions.map((d) => d[k]));
      // The version guard repeats the domain's rule in SQL, so two consumers racing on a key
      // that did not exist yet still end with the newer event's state.
      await db
        .insert(di)
        .select(
          sql`select t.order_id, t.sku, t.batchref, t.qty::int, t.status, t.version::bigint, now(), now()
            from unnest(${column("orderId")}, ${column("sku")}, ${column("batchref")}, ${column("qty")},
              ${column("status")}, ${column("version")}) as t (order_id, sku, batchref, qty, status, version)`,
        )
        .onConflictDoUpdate({
          target: [di.orderId, di.sku, di.batchref],
          set: {
            qty: sql`excluded.qty`,
            status: sql`excluded.status`,
            version: sql`excluded.version`,
            updatedAt: sql`now()`,
          },
          setWhere: sql`${di.version} < excluded.version`,
        })
        .prepare("warehouse_dispatches_save")
        .execute();
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
