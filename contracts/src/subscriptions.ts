import * as allocation from "./allocation.js";
import type { Contract, ServiceName } from "./define.js";
import * as ordering from "./ordering.js";
import * as warehouse from "./warehouse.js";

/**
 * Which service consumes which contract. Producers are on the contracts themselves; this is
 * the other half of the event flow, documented in the AsyncAPI document. During a deprecation
 * window a service reads one major version of an event, never two (ordering reads
 * line_allocated v2, warehouse still v1).
 */
export const subscriptions: Readonly<Record<ServiceName, readonly Contract[]>> = {
  ordering: [allocation.lineAllocatedV2, allocation.lineDeallocatedV1, allocation.outOfStockV1],
  allocation: [
    ordering.orderPlacedV1,
    ordering.orderCancelledV1,
    warehouse.batchRegisteredV1,
    warehouse.batchQuantityChangedV1,
    warehouse.shipmentDelayedV1,
  ],
  warehouse: [allocation.lineAllocatedV1, allocation.lineDeallocatedV1],
};
