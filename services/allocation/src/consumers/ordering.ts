import { orderCancelledV1, orderPlacedV1 } from "@stockflow/contracts";
import { type Consumer, createConsumer, handle } from "@stockflow/messaging";
import { allocate, cancelOrder } from "../app/handlers.js";
import type { ConsumerDeps } from "./deps.js";
import { isTransient } from "./transient.js";

/**
 * Orders from the storefront. Events of one order run in stream order (placed before
 * cancelled); different orders run side by side and meet only on a shared product, where
 * the optimistic version check makes the loser retry.
 */
export function orderingConsumer({ nc, db, logger, unitOfWork }: ConsumerDeps): Consumer {
  return createConsumer({
    service: "allocation",
    durable: "allocation-ordering",
    stream: "ORDERING",
    nc,
    db,
    logger,
    handlers: [
      handle(orderPlacedV1, (tx, event) => allocate(unitOfWork(tx), event)),
      handle(orderCancelledV1, (tx, event) => cancelOrder(unitOfWork(tx), event)),
    ],
    keyOf: (_subject, event) => (event as { orderId: string }).orderId,
    concurrency: 4,
    isTransient,
  });
}
