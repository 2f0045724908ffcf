import { customerBecameVipV1, orderPlacedV1 } from "@stockflow/contracts";
import { annotateSpan } from "@stockflow/telemetry";
import { becameVipAt } from "../domain/customer.js";
import { createOrder } from "../domain/order.js";
import { IdempotencyKeyReused } from "./errors.js";
import type { HandlerDeps, Transaction } from "./ports.js";

export interface PlaceOrder {
  customerId: string;
  lines: readonly { sku: string; qty: number }[];
  /** Present when the client sent an `Idempotency-Key`; the hash identifies the request body. */
  idempotency?: { key: string; requestHash: string };
}

export interface OrderAccepted {
  orderId: string;
  status: "pending";
  /** True when this is the stored answer to an earlier request with the same key. */
  replayed: boolean;
}

/**
 * Stores a new order with pending lines, counts it for the customer and enqueues
 * `order_placed` (and `customer_became_vip` on the third order), all in the caller's
 * transaction. Allocation answers later, by events.
 */
export async function placeOrder(
  deps: HandlerDeps,
  tx: Transaction,
  cmd: PlaceOrder,
): Promise<OrderAccepted> {
  const orderId = deps.newId();
  if (cmd.idempotency) {
    const { key, requestHash } = cmd.idempotency;
    const earlier = await tx.idempotency.claim(key, {
      requestHash,
      statusCode: 202,
      response: { orderId, status: "pending" },
    });
    if (earlier) {
      if (earlier.requestHash !== requestHash) throw new IdempotencyKeyReused();
      annotateSpan({ orderId: String(earlier.response.orderId) });
      return { orderId: String(earlier.response.orderId), status: "pending", replayed: true };
    }
  }
  annotateSpan({ orderId });
  const now = deps.clock.now();
  const order = createOrder({ orderId, customerId: cmd.customerId, lines: cmd.lines, now });
  await tx.orders.add(order);
  const orderCount = await tx.customers.countOrder(cmd.customerId);
  await tx.events.enqueue(orderPlacedV1, {
    orderId,
    customerId: cmd.customerId,
    lines: order.lines.map(({ sku, qty }) => ({ sku, qty })),
    placedAt: now.toISOString(),
  });
  if (becameVipAt(orderCount)) {
    await tx.events.enqueue(customerBecameVipV1, { customerId: cmd.customerId, orderCount });
  }
  return { orderId, status: "pending", replayed: false };
}
