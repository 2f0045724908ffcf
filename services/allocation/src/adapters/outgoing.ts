import { lineAllocatedV2, lineDeallocatedV1, outOfStockV1 } from "@stockflow/contracts";
import { type OutboxRow, outboxRowsOf } from "@stockflow/messaging";
import type { AllocationEvent } from "../domain/events.js";

/**
 * A domain event as the outbox rows of its published contracts (validated, with their
 * CloudEvents headers and the trace context current now): the payload is the event without
 * its `type`. An allocation is line_allocated v2, which the kit also writes as v1 while v1
 * is published; a line's new eta is news to v2 readers only.
 */
export function outboxRowsOfEvent(event: AllocationEvent): OutboxRow[] {
  switch (event.type) {
    case "line_allocated": {
      const { type: _, ...payload } = event;
      return outboxRowsOf("allocation", lineAllocatedV2, payload);
    }
    case "line_delayed": {
      const { type: _, ...payload } = event;
      return outboxRowsOf("allocation", lineAllocatedV2, payload, { onlyThisVersion: true });
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
