import { type Static, Type } from "@sinclair/typebox";

// Bounded, printable strings: no control characters and no surrounding whitespace, so a
// reference reads the same in logs, events and URLs.
const Name = (description: string) =>
  Type.String({
    minLength: 1,
    maxLength: 200,
    pattern: "^[^\\s\\p{Cc}](?:[^\\p{Cc}]*[^\\s\\p{Cc}])?$",
    description,
  });

const Reference = Name("batch reference");
const Sku = Name("stock-keeping unit");
// The shape only; whether it is a real day is checked with isCalendarDate.
const EtaDate = Type.String({ pattern: "^\\d{4}-\\d{2}-\\d{2}$", description: "calendar date YYYY-MM-DD" });
const Qty = Type.Integer({ minimum: 1, maximum: 1_000_000_000 });

export const BatchView = Type.Object({
  reference: Type.String(),
  sku: Type.String(),
  qty: Type.Integer(),
  eta: Type.Union([Type.String(), Type.Null()]),
});

export const RegisterBatchBody = Type.Object(
  {
    reference: Reference,
    sku: Sku,
    qty: Qty,
    eta: Type.Union([EtaDate, Type.Null()], {
      description: "null: stock on hand; a date: an incoming shipment",
    }),
  },
  { additionalProperties: false },
);
export type RegisterBatchBody = Static<typeof RegisterBatchBody>;

export const DamageBody = Type.Object(
  { qty: Qty, reason: Type.Optional(Type.String({ minLength: 1, maxLength: 500 })) },
  { additionalProperties: false },
);

export const DelayBody = Type.Object({ eta: EtaDate }, { additionalProperties: false });

export const ReferenceParams = Type.Object({ reference: Reference });

export const BatchesQuery = Type.Object({ sku: Sku });

export const DispatchesQuery = Type.Object({ orderId: Type.String({ minLength: 1, maxLength: 200 }) });

export const DispatchView = Type.Object({
  orderId: Type.String(),
  sku: Type.String(),
  qty: Type.Integer(),
  batchref: Type.String(),
  status: Type.Union([Type.Literal("pending"), Type.Literal("cancelled")]),
});

export const ErrorView = Type.Object({ error: Type.String(), message: Type.String() });
