import { type Static, Type } from "@sinclair/typebox";
import { MAX_LINES, MAX_QTY } from "../domain/order.js";

// Bounds keep hostile input small; 200 matches the event contracts' id and sku limits.
// PostgreSQL cannot store NUL in text nor a lone surrogate in jsonb (the outbox payload):
// refused here as invalid input rather than failing later as a 500.
const STORABLE = "^[^\\u0000\\uD800-\\uDFFF]*$";
const Id = (description: string) =>
  Type.String({ minLength: 1, maxLength: 200, pattern: STORABLE, description });

export const PlaceOrderBody = Type.Object(
  {
    customerId: Id("the storefront's customer id"),
    lines: Type.Array(
      Type.Object(
        {
          sku: Id("stock-keeping unit"),
          qty: Type.Integer({ minimum: 1, maximum: MAX_QTY }),
        },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: MAX_LINES, description: "no sku twice" },
    ),
  },
  { additionalProperties: false },
);
export type PlaceOrderBody = Static<typeof PlaceOrderBody>;

export const IdempotencyHeaders = Type.Object({
  "idempotency-key": Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 200,
      pattern: STORABLE,
      description: "a retry with the same key and body answers the first order again",
    }),
  ),
});

export const OrderAccepted = Type.Object({
  orderId: Type.String(),
  status: Type.Literal("pending"),
});

export const OrderCancelled = Type.Object({
  orderId: Type.String(),
  status: Type.Literal("cancelled"),
});

const LineStatus = Type.Union(
  ["pending", "allocated", "backordered", "cancelled"].map((s) => Type.Literal(s)),
);
const OrderStatus = Type.Union(
  ["pending", "allocated", "partially_allocated", "backordered", "cancelled"].map((s) => Type.Literal(s)),
);

export const OrderView = Type.Object({
  orderId: Type.String(),
  customerId: Type.String(),
  status: OrderStatus,
  lines: Type.Array(
    Type.Object({
      sku: Type.String(),
      qty: Type.Integer(),
      status: LineStatus,
      batchref: Type.Union([Type.String(), Type.Null()]),
      eta: Type.Union([Type.String({ format: "date" }), Type.Null()], {
        description:
          "when the allocated line's shipment is due; null for stock on hand and lines not allocated",
      }),
    }),
  ),
  createdAt: Type.String({ format: "date-time" }),
  updatedAt: Type.String({ format: "date-time" }),
});

export const CustomerView = Type.Object({
  customerId: Type.String(),
  orderCount: Type.Integer(),
  vip: Type.Boolean(),
});

export const ErrorBody = Type.Object({ error: Type.String(), message: Type.String() });

// Path ids are bounded but not patterned: one that cannot be stored names nothing (404, the
// repositories check), as any other unknown id.
const PathId = (description: string) => Type.String({ minLength: 1, maxLength: 200, description });
export const OrderParams = Type.Object({ orderId: PathId("the order id from POST /orders") });
/** The longest a request may wait for an order, by contract. */
export const MAX_WAIT_MS = 30_000;
export const OrderQuery = Type.Object(
  {
    wait: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: MAX_WAIT_MS,
        description:
          "milliseconds to hold the answer until the order is no longer pending (0 or absent: answer at once)",
      }),
    ),
  },
  // Other query parameters (a client's cache buster) are left alone, as before `wait` existed.
);
export type OrderQuery = Static<typeof OrderQuery>;
export const CustomerParams = Type.Object({ customerId: PathId("the storefront's customer id") });
