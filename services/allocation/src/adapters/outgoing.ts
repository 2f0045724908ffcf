import { lineAllocatedV1, lineDeallocatedV1, outOfStockV1 } from "@stockflow/contracts";
import { type OutboxRow, outboxRowsOf } from "@stockflow/messaging";
import type { AllocationEvent } from "../domain/events.js";

/**
 * A domain event as the outbox rows of its published contract (validated, with their
 * CloudEvents headers and the trace context current now): the payload is the event without
 * its `type`.
 */
export function outboxRowsOfEvent(event: AllocationEvent): OutboxRow[] {
  switch (event.type) {
    case "line_allocated": {
      const { type: _, ...payload } = event;
      return outboxRowsOf("allocation", lineAllocatedV1, payload);
    }
    case "line_deallocated": {
      const { type: _, ...payload } = event;
      return outboxRowsOf("allocation", lineDeallocatedV1, payload);
    }
    case "out_of_stock": {
      const { type: _, ...payload } = event;
      return outboxRowsOf("allocation", outOfStockV1, payload);
    }
  }
}
