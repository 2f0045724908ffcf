import { Type } from "@sinclair/typebox";
import { defineContract } from "./define.js";
import { Id, IsoTime, Qty, Sku } from "./fields.js";

export const orderPlacedV1 = defineContract(
  "ordering",
  "order_placed",
  1,
  Type.Object({
    orderId: Id("order id"),
    customerId: Id("customer id"),
    lines: Type.Array(Type.Object({ sku: Sku, qty: Qty }), { minItems: 1, maxItems: 100 }),
    placedAt: IsoTime,
  }),
);

export const orderCancelledV1 = defineContract(
  "ordering",
  "order_cancelled",
  1,
  Type.Object({ orderId: Id("order id"), cancelledAt: IsoTime }),
);

export const customerBecameVipV1 = defineContract(
  "ordering",
  "customer_became_vip",
  1,
  Type.Object({ customerId: Id("customer id"), orderCount: Type.Integer({ minimum: 1 }) }),
);
