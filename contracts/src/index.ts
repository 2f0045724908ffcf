export { lineAllocatedV1, lineDeallocatedV1, outOfStockV1 } from "./allocation.js";
export type { AsyncApiDocument } from "./asyncapi.js";
export { asyncApiDocument, asyncApiText } from "./asyncapi.js";
export type { SchemaChanges } from "./compatibility.js";
export { compareSchemas } from "./compatibility.js";
export type { Contract, EventOf, ServiceName } from "./define.js";
export { defineContract, streamOf, validationErrors } from "./define.js";
export { isCalendarDate } from "./formats.js";
export { customerBecameVipV1, orderCancelledV1, orderPlacedV1 } from "./ordering.js";
export { allContracts, contractForSubject, parseSubject } from "./registry.js";
export type { StreamDefinition, StreamName } from "./streams.js";
export { dlqSubject, streams } from "./streams.js";
export { subscriptions } from "./subscriptions.js";
export { batchQuantityChangedV1, batchRegisteredV1, shipmentDelayedV1 } from "./warehouse.js";

import type * as A from "./allocation.js";
import type { EventOf } from "./define.js";
import type * as O from "./ordering.js";
import type * as W from "./warehouse.js";

export type OrderPlacedV1 = EventOf<typeof O.orderPlacedV1>;
export type OrderCancelledV1 = EventOf<typeof O.orderCancelledV1>;
export type CustomerBecameVipV1 = EventOf<typeof O.customerBecameVipV1>;
export type BatchRegisteredV1 = EventOf<typeof W.batchRegisteredV1>;
export type BatchQuantityChangedV1 = EventOf<typeof W.batchQuantityChangedV1>;
export type ShipmentDelayedV1 = EventOf<typeof W.shipmentDelayedV1>;
export type LineAllocatedV1 = EventOf<typeof A.lineAllocatedV1>;
export type LineDeallocatedV1 = EventOf<typeof A.lineDeallocatedV1>;
export type OutOfStockV1 = EventOf<typeof A.outOfStockV1>;
