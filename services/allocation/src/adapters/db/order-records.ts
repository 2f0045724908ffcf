import { type DbOrTx, sendPrepared } from "@stockflow/messaging";
import type { OrderRecords } from "../../app/ports.js";

// `do update` even when nothing changes: the row is locked until the transaction ends, so
// a placement and a cancellation of one order, in two replicas, run one after the other.
// Orders are inserted in id order: two runs of placements lock shared orders in one order.
const PLACE = {
  text: `insert into order_records as r (order_id)
    select id from unnest($1::text[]) as t (id) order by id
    on conflict (order_id) do update set order_id = excluded.order_id
    returning r.order_id, r.cancelled`,
};
const CANCEL = {
  text: `insert into order_records (order_id, cancelled) values ($1::text, true)
    on conflict (order_id) do update set cancelled = true`,
};

/** Order records over a transaction's connection (prepared statements, see statement.ts). */
export function orderRecords(tx: DbOrTx): OrderRecords {
  return {
    async place(orderIds) {
      const ids = [...new Set(orderIds)];
      if (ids.length === 0) return new Set();
      const rows = await sendPrepared<{ order_id: string; cancelled: boolean }>(tx, {
        ...PLACE,
        params: [ids],
      });
      return new Set(rows.filter((r) => r.cancelled).map((r) => r.order_id));
    },
    async cancel(orderId) {
      await sendPrepared(tx, { ...CANCEL, params: [orderId] });
    },
  };
}
