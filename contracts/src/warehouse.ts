import { Type } from "@sinclair/typebox";
import { defineContract } from "./define.js";
import { BatchRef, IsoDate, Qty, Sku } from "./fields.js";

export const batchRegisteredV1 = defineContract(
  "warehouse",
  "batch_registered",
  1,
  Type.Object({
    reference: BatchRef,
    sku: Sku,
    qty: Qty,
    eta: Type.Union([IsoDate, Type.Null()], { description: "null: stock on hand" }),
  }),
);

export const batchQuantityChangedV1 = defineContract(
  "warehouse",
  "batch_quantity_changed",
  1,
  Type.Object({
    reference: BatchRef,
    sku: Sku,
    qty: Type.Integer({ minimum: 0, description: "the new quantity" }),
    reason: Type.String({ maxLength: 500 }),
  }),
);

export const shipmentDelayedV1 = defineContract(
  "warehouse",
  "shipment_delayed",
  1,
  Type.Object({ reference: BatchRef, sku: Sku, eta: IsoDate }),
);
