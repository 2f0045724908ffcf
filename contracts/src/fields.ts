import { Type } from "@sinclair/typebox";

// Shared field shapes keep the contracts consistent; bounds protect consumers from
// absurd values rather than encode business rules.
export const Id = (description: string) => Type.String({ minLength: 1, maxLength: 200, description });
export const Sku = Type.String({ minLength: 1, maxLength: 200, description: "stock-keeping unit" });
export const Qty = Type.Integer({ minimum: 1, description: "a positive quantity" });
export const BatchRef = Type.String({ minLength: 1, maxLength: 200, description: "batch reference" });
export const IsoTime = Type.String({ format: "date-time", description: "ISO 8601 time" });
export const IsoDate = Type.String({ format: "date", description: "calendar date YYYY-MM-DD" });
export const ProductVersion = Type.Integer({
  minimum: 1,
  description: "the product's version after the change that produced the event",
});
