import { orderCancelledV1 } from "@stockflow/contracts";
import { annotateSpan } from "@stockflow/telemetry";
import { cancelOrder as cancel } from "../domain/order.js";
import { OrderNotFound } from "./errors.js";
import type { HandlerDeps, Transaction } from "./ports.js";

/** Cancels the order and enqueues `order_cancelled`, on which allocation frees its stock. */
export async function cancelOrder(
  deps: HandlerDeps,
  tx: Transaction,
  orderId: string,
): Promise<{ orderId: string; status: "cancelled" }> {
  annotateSpan({ orderId });
  const order = await tx.orders.getForUpdate(orderId);
  if (!order) throw new OrderNotFound(orderId);
  const cancelled = cancel(order, deps.clock.now());
  await tx.orders.save(cancelled, cancelled.lines);
  await tx.events.enqueue(orderCancelledV1, {
    orderId,
    cancelledAt: (cancelled.cancelledAt ?? deps.clock.now()).toISOString(),
  });
  return { orderId, status: "cancelled" };
}
