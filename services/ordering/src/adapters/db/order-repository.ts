import { asc, eq, sql } from "drizzle-orm";
import type { OrderRepository } from "../../app/ports.js";
import type { Order, OrderLine } from "../../domain/order.js";
import type { Executor } from "./executor.js";
import { couldBeStored } from "./storable.js";
import { orderLines, orders } from "./tables.js";

type Row = { orders: typeof orders.$inferSelect; order_lines: typeof orderLines.$inferSelect };

function toOrder(rows: Row[]): Order | undefined {
  const head = rows[0]?.orders;
  if (!head) return undefined;
  return {
    orderId: head.orderId,
    customerId: head.customerId,
    cancelledAt: head.cancelledAt,
    createdAt: head.createdAt,
    updatedAt: head.updatedAt,
    lines: rows.map(({ order_lines: l }) => ({
      sku: l.sku,
      qty: l.qty,
      status: l.status,
      batchref: l.batchref,
      version: l.version,
    })),
  };
}

export function orderRepository(db: Executor): OrderRepository {
  const select = (orderId: string) =>
    db
      .select()
      .from(orders)
      .innerJoin(orderLines, eq(orderLines.orderId, orders.orderId))
      .where(eq(orders.orderId, orderId))
      .orderBy(asc(orderLines.position));

  return {
    get: async (orderId) => (couldBeStored(orderId) ? toOrder(await select(orderId)) : undefined),

    // Locks the order row and its lines: allocation reports and a cancellation of one
    // order apply one after another, whichever consumer replica or request runs them.
    getForUpdate: async (orderId) =>
      couldBeStored(orderId) ? toOrder(await select(orderId).for("update")) : undefined,

    async save(order, changed) {
      await db
        .update(orders)
        .set({ cancelledAt: order.cancelledAt, updatedAt: order.updatedAt })
        .where(eq(orders.orderId, order.orderId));
      if (changed.length === 0) return;
      const values = sql.join(
        changed.map(
          (l: OrderLine) => sql`(${l.sku}::text, ${l.status}::text, ${l.batchref}::text, ${l.version}::int)`,
        ),
        sql`, `,
      );
      await db.execute(sql`
        update ${orderLines} as l
        set status = v.status, batchref = v.batchref, version = v.version
        from (values ${values}) as v (sku, status, batchref, version)
        where l.order_id = ${order.orderId} and l.sku = v.sku`);
    },
  };
}
