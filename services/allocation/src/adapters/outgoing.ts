import { lineAllocatedV1, lineDeallocatedV1, outOfStockV1 } from "@stockflow/contracts";
import type { DbOrTx, Outbox } from "@stockflow/messaging";
import type { AllocationEvent } from "../domain/events.js";

/** Queues a domain event as its published contract: the payload is the event without its `type`. */
export async function enqueueEvent(outbox: Outbox, tx: DbOrTx, event: AllocationEvent): Promise<void> {
  switch (event.type) {
    case "line_allocated": {
      const { type: _, ...payload } = event;
      await outbox.enqueue(tx, lineAllocatedV1, payload);
      return;
    }
    case "line_deallocated": {
      const { type: _, ...payload } = event;
      await outbox.enqueue(tx, lineDeallocatedV1, payload);
      return;
    }
    case "out_of_stock": {
      const { type: _, ...payload } = event;
      await outbox.enqueue(tx, outOfStockV1, payload);
      return;
    }
  }
}
