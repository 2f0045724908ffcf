import { batchQuantityChangedV1, batchRegisteredV1, shipmentDelayedV1 } from "@stockflow/contracts";
import { type Consumer, handle } from "@stockflow/messaging";
import { changeBatchQuantity, delayShipment, registerBatch } from "../app/handlers.js";
import { type ConsumerDeps, sharedOptions } from "./deps.js";

/** Stock news from the warehouse, one SKU's events in stream order (a batch is registered before it changes). */
export function warehouseConsumer(deps: ConsumerDeps): Consumer {
  const { unitOfWork, messaging } = deps;
  return messaging.consumer({
    ...sharedOptions(deps),
    durable: "allocation-warehouse",
    stream: "WAREHOUSE",
    handlers: [
      handle(batchRegisteredV1, (tx, event) => registerBatch(unitOfWork(tx), event)),
      handle(batchQuantityChangedV1, (tx, event) => changeBatchQuantity(unitOfWork(tx), event)),
      handle(shipmentDelayedV1, (tx, event) => delayShipment(unitOfWork(tx), event)),
    ],
    keyOf: (_subject, event) => (event as { sku: string }).sku,
    concurrency: 2,
    // One SKU per transaction: beside the ordering consumer's multi-product batches, a
    // transaction that holds one product row cannot close a deadlock cycle. Stock news is rare.
    batchSize: 1,
  });
}
