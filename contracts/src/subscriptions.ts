import * as allocation from "./allocation.js";
import type { Contract, ServiceName } from "./define.js";
import * as ordering from "./ordering.js";
import * as warehouse from "./warehouse.js";

/**
 * Which service consumes which contract. Producers are on the contracts themselves; this is
 * the other half of the event flow, documented in the AsyncAPI document.
 */
export const subscriptions: Readonly<Record<ServiceName, readonly Contract[]>> = {
  ordering: [allocation.lineAllocatedV1, allocation.lineDeallocatedV1, allocation.outOfStockV1],
  allocation: [
    ordering.orderPlacedV1,
    ordering.orderCancelledV1,
    warehouse.batchRegisteredV1,
    warehouse.batchQuantityChangedV1,
    warehouse.shipmentDelayedV1,
  ],
  warehouse: [allocation.lineAllocatedV1, allocation.lineDeallocatedV1],
};
