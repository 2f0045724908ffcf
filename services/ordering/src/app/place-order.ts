import { type Contract, customerBecameVipV1, type EventOf, orderPlacedV1 } from "@stockflow/contracts";
import { annotateSpan } from "@stockflow/telemetry";
import { becameVipEvent } from "../domain/customer.js";
import { createOrder } from "../domain/order.js";
import { IdempotencyKeyReused } from "./errors.js";
import type { HandlerDeps, OrderIntake, OutgoingEvent } from "./ports.js";

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

const event = <C extends Contract>(
  contract: C,
  payload: EventOf<C>,
  atOrderCount?: number,
): OutgoingEvent => ({
  contract,
  payload,
  ...(atOrderCount !== undefined ? { atOrderCount } : {}),
});

/**
 * Stores a new order with pending lines, counts it for the customer and enqueues
 * `order_placed` (and `customer_became_vip` on the third order), all in one atomic write.
 * Allocation answers later, by events.
 */
export async function placeOrder(
  deps: HandlerDeps,
  intake: OrderIntake,
  cmd: PlaceOrder,
): Promise<OrderAccepted> {
  const orderId = deps.newId();
  const now = deps.clock.now();
  const order = createOrder({ orderId, customerId: cmd.customerId, lines: cmd.lines, now });
  annotateSpan({ orderId });
  const vip = becameVipEvent(cmd.customerId);
  const events = [
    event(orderPlacedV1, {
      orderId,
      customerId: cmd.customerId,
      lines: order.lines.map(({ sku, qty }) => ({ sku, qty })),
      placedAt: now.toISOString(),
    }),
    // Written only by the order that reaches vip.atOrderCount (see becameVipEvent).
    event(customerBecameVipV1, vip.payload, vip.atOrderCount),
  ];
  const result = await intake.place({
    order,
    events,
    ...(cmd.idempotency
      ? {
          idempotency: {
            key: cmd.idempotency.key,
            answer: {
              requestHash: cmd.idempotency.requestHash,
              statusCode: 202,
              response: { orderId, status: "pending" },
            },
          },
        }
      : {}),
  });
  if (!result.placed) {
    const { earlier } = result;
    if (earlier.requestHash !== cmd.idempotency?.requestHash) throw new IdempotencyKeyReused();
    annotateSpan({ orderId: String(earlier.response.orderId) });
    return { orderId: String(earlier.response.orderId), status: "pending", replayed: true };
  }
  return { orderId, status: "pending", replayed: false };
}
