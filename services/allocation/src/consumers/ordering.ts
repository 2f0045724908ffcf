import { orderCancelledV1, orderPlacedV1 } from "@stockflow/contracts";
import { type Consumer, handle, handleBatch } from "@stockflow/messaging";
import { allocateAll, cancelOrder } from "../app/handlers.js";
import { type ConsumerDeps, sharedOptions } from "./deps.js";

/**
 * Orders from the storefront, in stream order (placed before cancelled), up to 64 events
 * per transaction. Against the warehouse consumer, orders meet stock news only on a shared
 * product, where the optimistic version check makes the loser retry.
 */
export function orderingConsumer(deps: ConsumerDeps): Consumer {
  const { unitOfWork, messaging } = deps;
  return messaging.consumer({
    ...sharedOptions(deps),
    durable: "allocation-ordering",
    stream: "ORDERING",
    handlers: [
      // A run of placed orders reads its products once and saves them once (allocateAll).
      handleBatch([orderPlacedV1], (tx, items) => allocateAll(unitOfWork(tx), items)),
      handle(orderCancelledV1, (tx, event) => cancelOrder(unitOfWork(tx), event)),
    ],
    keyOf: (_subject, event) => (event as { orderId: string }).orderId,
    // One batch at a time: orders of different keys share products, so two batches at once
    // would mostly conflict on product versions, or deadlock on their rows, and run again.
    concurrency: 1,
    batchSize: 64,
  });
}
