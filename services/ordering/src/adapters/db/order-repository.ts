import { asc, eq, sql } from "drizzle-orm";
import type { OrderChange, OrderRepository } from "../../app/ports.js";
import type { Order } from "../../domain/order.js";
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
      eta: l.eta,
      version: l.version,
    })),
  };
}

/** Rows of several orders (sorted by order id, then line position), grouped into orders. */
function toOrders(rows: Row[]): Map<string, Order> {
  const found = new Map<string, Order>();
  for (let start = 0; start < rows.length; ) {
    const orderId = rows[start]!.orders.orderId;
    let end = start + 1;
    while (end < rows.length && rows[end]!.orders.orderId === orderId) end++;
    found.set(orderId, toOrder(rows.slice(start, end))!);
    start = end;
  }
  return found;
}

const iso = (d: Date | null) => (d === null ? null : d.toISOString());

export function orderRepository(db: Executor): OrderRepository {
  const select = (orderId: string | ReturnType<typeof sql.placeholder>) =>
    db
      .select()
      .from(orders)
      .innerJoin(orderLines, eq(orderLines.orderId, orders.orderId))
      .where(eq(orders.orderId, orderId))
      .orderBy(asc(orderLines.position));

  // Built once per repository, not per read: building it cost more CPU than the rest of a
  // read (README, "Waiting for an order"). Prepared (named) on each connection: one round
  // trip per read instead of two (Parse/Describe, then Bind).
  let byId: ReturnType<ReturnType<typeof select>["prepare"]> | undefined;

  return {
    get: async (orderId) => {
      if (!couldBeStored(orderId)) return undefined;
      byId ??= select(sql.placeholder("orderId")).prepare("ordering_order_by_id");
      return toOrder(await byId.execute({ orderId }));
    },

    // Locks the order row and its lines: allocation reports and a cancellation of one
    // order apply one after another, whichever consumer replica or request runs them.
    getForUpdate: async (orderId) =>
      couldBeStored(orderId) ? toOrder(await select(orderId).for("update")) : undefined,

    async getManyForUpdate(orderIds) {
      const ids = [...new Set(orderIds)].filter(couldBeStored);
      if (ids.length === 0) return new Map();
      // One array parameter keeps the statement's text the same whatever the number of
      // orders, so it is prepared once per connection (one round trip, not two); sorted by
      // order id, so two transactions lock shared orders in one order.
      const rows = await db
        .select()
        .from(orders)
        .innerJoin(orderLines, eq(orderLines.orderId, orders.orderId))
        // The key on both tables: each is read through its own index even when the planner
        // has no statistics (it would otherwise hash-join a scan of order_lines).
        .where(
          sql`${orders.orderId} = any(${sql.param(ids)}::text[]) and ${orderLines.orderId} = any(${sql.param(ids)}::text[])`,
        )
        .orderBy(asc(orders.orderId), asc(orderLines.position))
        .for("update")
        .prepare("ordering_orders_for_update")
        .execute();
      return toOrders(rows);
    },

    save: (order, changed) => saveMany(db, [{ order, changed }]),

    saveMany: (changes) => saveMany(db, changes),
  };
}

/**
 * The orders' timestamps and cancellation, and their changed lines, in one statement whatever
 * their number: rows travel as parallel arrays (unnest), as text cast in SQL, so neither the
 * text (prepared once per connection) nor the client's serializers depend on them. Each
 * (order, sku) must appear once.
 */
async function saveMany(db: Executor, changes: readonly OrderChange[]): Promise<void> {
  if (changes.length === 0) return;
  const lines = changes.flatMap(({ order, changed }) =>
    changed.map((l) => ({ orderId: order.orderId, ...l })),
  );
  const texts = (values: readonly (string | null)[]) => sql`${sql.param(values)}::text[]`;
  const changedOrders = db.$with("changed_orders").as(
    db
      .update(orders)
      .set({ cancelledAt: sql`v.cancelled_at::timestamptz`, updatedAt: sql`v.updated_at::timestamptz` })
      .from(
        sql`unnest(${texts(changes.map((c) => c.order.orderId))}, ${texts(changes.map((c) => iso(c.order.cancelledAt)))},
          ${texts(changes.map((c) => iso(c.order.updatedAt)))}) as v (order_id, cancelled_at, updated_at)`,
      )
      .where(sql`${orders.orderId} = v.order_id`)
      .returning({ orderId: orders.orderId }),
  );
  await db
    .with(changedOrders)
    .update(orderLines)
    .set({
      status: sql`v.status`,
      batchref: sql`v.batchref`,
      eta: sql`v.eta::date`,
      version: sql`v.version::int`,
    })
    .from(
      sql`unnest(${texts(lines.map((l) => l.orderId))}, ${texts(lines.map((l) => l.sku))}, ${texts(lines.map((l) => l.status))},
        ${texts(lines.map((l) => l.batchref))}, ${texts(lines.map((l) => l.eta))}, ${texts(lines.map((l) => String(l.version)))})
        as v (order_id, sku, status, batchref, eta, version)`,
    )
    .where(sql`${orderLines.orderId} = v.order_id and ${orderLines.sku} = v.sku`)
    .prepare("ordering_orders_save")
    .execute();
}
