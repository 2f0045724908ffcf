import { batchQuantityChangedV1, batchRegisteredV1, shipmentDelayedV1 } from "@stockflow/contracts";
import { type Consumer, handle } from "@stockflow/messaging";
import { changeBatchQuantity, delayShipment, registerBatch } from "../app/handlers.js";
import { type ConsumerDeps, sharedOptions } from "./deps.js";

/**
 * Stock news from the warehouse. One process takes one SKU's events in stream order; across
 * replicas and redeliveries they may come in any order, so each rule holds on its own: news
 * of a batch not registered yet is retried, older news than applied is stale (batch_news).
 */
export function warehouseConsumer(deps: ConsumerDeps): Consumer {
  const { unitOfWork, messaging } = deps;
  return messaging.consumer({
    ...sharedOptions(deps),
    durable: "allocation-warehouse",
    stream: "WAREHOUSE",
    handlers: [
      handle(batchRegisteredV1, (tx, event) => registerBatch(unitOfWork(tx), event)),
      // The stream sequence orders a batch's news: a redelivery or another replica's slower
      // transaction may bring older news after newer (see batch_news).
      handle(batchQuantityChangedV1, (tx, event, meta) =>
        changeBatchQuantity(unitOfWork(tx), event, meta.streamSequence),
      ),
      handle(shipmentDelayedV1, (tx, event, meta) =>
        delayShipment(unitOfWork(tx), event, meta.streamSequence),
      ),
    ],
    keyOf: (_subject, event) => (event as { sku: string }).sku,
    concurrency: 2,
    // One SKU per transaction: beside the ordering consumer's multi-product batches, a
    // transaction that holds one product row cannot close a deadlock cycle. Stock news is rare.
    batchSize: 1,
  });
}
