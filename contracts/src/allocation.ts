import { Type } from "@sinclair/typebox";
import { defineContract } from "./define.js";
import { BatchRef, Id, ProductVersion, Qty, Sku } from "./fields.js";

export const lineAllocatedV1 = defineContract(
  "allocation",
  "line_allocated",
  1,
  Type.Object({ orderId: Id("order id"), sku: Sku, qty: Qty, batchref: BatchRef, version: ProductVersion }),
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
