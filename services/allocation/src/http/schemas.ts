import { Type } from "@sinclair/typebox";

const Text = (description: string) => Type.String({ minLength: 1, maxLength: 200, description });

export const ErrorBody = Type.Object({ error: Type.String(), message: Type.String() });

export const OrderParams = Type.Object({ orderId: Text("order id") });
export const SkuParams = Type.Object({ sku: Text("stock-keeping unit") });

export const AllocatedLines = Type.Array(
  Type.Object({ sku: Type.String(), batchref: Type.String(), qty: Type.Integer() }),
  { description: "lines of the order allocated now" },
);

export const ProductBody = Type.Object({
  sku: Type.String(),
  version: Type.Integer(),
  batches: Type.Array(
    Type.Object({
      reference: Type.String(),
      qty: Type.Integer(),
      available: Type.Integer(),
      eta: Type.Union([Type.String({ format: "date" }), Type.Null()]),
    }),
    { description: "in the order allocation prefers them" },
  ),
  backorders: Type.Array(Type.Object({ orderId: Type.String(), qty: Type.Integer() }), {
    description: "oldest first: the order they are served in",
  }),
});
