import { lineAllocatedV1, lineDeallocatedV1 } from "@stockflow/contracts";
import { type Consumer, handleBatch, type Messaging, type Redelivery } from "@stockflow/messaging";
import { annotateSpan } from "@stockflow/telemetry";
import { workOn } from "../adapters/db/unit-of-work.js";
import { followLines } from "../app/dispatch-handlers.js";

export const ALLOCATION_DURABLE = "warehouse-allocation";

export interface AllocationConsumerDeps {
  messaging: Pick<Messaging, "consumer" | "unitOfWork">;
  /** ack wait, retry delays, attempts before the DLQ (CONSUMER_* settings). */
  redelivery?: Redelivery;
}

/**
 * Dispatch instructions follow allocation's line events. out_of_stock, also on the stream,
 * is acked and skipped by the kit. Events of one order run one after another, so the
 * deallocation and reallocation of a line apply in the order allocation published them.
 * A batch's events are applied together: one read of the instructions they name, one write.
 */
export function allocationConsumer({ messaging, redelivery }: AllocationConsumerDeps): Consumer {
  const { outbox } = messaging.unitOfWork;
  return messaging.consumer({
    ...redelivery,
    durable: ALLOCATION_DURABLE,
    stream: "ALLOCATION",
    keyOf: (_subject, event) => (event as { orderId: string }).orderId,
    // Batches of different orders touch disjoint rows; two at a time fill 2 cores.
    concurrency: 2,
    batchSize: 64,
    // Nobody waits on dispatch instructions: at moderate rates, waiting 50 ms for more events
    // makes a few large transactions of many small ones, and leaves the CPU to the consumers
    // on the storefront's path (allocation, ordering).
    lingerMs: 50,
    handlers: [
      handleBatch([lineAllocatedV1, lineDeallocatedV1], async (tx, items) => {
        for (const { event, within } of items) {
          within(() => annotateSpan({ orderId: event.orderId, sku: event.sku, batchRef: event.batchref }));
        }
        await followLines(
          workOn(tx, outbox),
          items.map(({ contract, event }) => ({
            kind: contract === lineAllocatedV1 ? "allocated" : "deallocated",
            event,
          })),
        );
      }),
    ],
  });
}
