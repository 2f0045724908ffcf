import { Type } from "@sinclair/typebox";
import { defineContract, supersededBy } from "./define.js";
import { BatchRef, Id, IsoDate, ProductVersion, Qty, Sku } from "./fields.js";

const lineAllocated = {
  orderId: Id("order id"),
  sku: Sku,
  qty: Qty,
  batchref: BatchRef,
};

/**
 * A line allocated to a batch, with that batch's eta. Also published, with the same version,
 * when the shipment the line waits for is delayed: a change v1 cannot express.
 */
export const lineAllocatedV2 = defineContract(
  "allocation",
  "line_allocated",
  2,
  Type.Object({
    ...lineAllocated,
    eta: Type.Union([IsoDate, Type.Null()], {
      description: "the batch's eta: the date its shipment is due, null for stock on hand",
    }),
    version: ProductVersion,
  }),
);

/** Deprecated: superseded by v2; published beside it until nobody reads it. */
export const lineAllocatedV1 = defineContract(
  "allocation",
  "line_allocated",
  1,
  Type.Object({ ...lineAllocated, version: ProductVersion }),
  supersededBy(lineAllocatedV2, ({ eta: _, ...v1 }) => v1),
);

export const lineDeallocatedV1 = defineContract(
  "allocation",
  "line_deallocated",
  1,
  Type.Object({
    orderId: Id("order id"),
    sku: Sku,
    qty: Qty,
    batchref: BatchRef,
    reason: Type.Union([Type.Literal("batch_quantity_changed"), Type.Literal("order_cancelled")]),
    version: ProductVersion,
  }),
);

export const outOfStockV1 = defineContract(
  "allocation",
  "out_of_stock",
  1,
  Type.Object({ orderId: Id("order id"), sku: Sku, qty: Qty, version: ProductVersion }),
);
