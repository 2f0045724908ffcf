import fc from "fast-check";

/** Random changes to one product, for property tests of the aggregate. */
export const productCommand = fc.oneof(
  fc.record({
    kind: fc.constant("allocate" as const),
    order: fc.integer({ min: 1, max: 8 }),
    qty: fc.integer({ min: 1, max: 12 }),
  }),
  fc.record({ kind: fc.constant("cancel" as const), order: fc.integer({ min: 1, max: 8 }) }),
  fc.record({
    kind: fc.constant("register" as const),
    ref: fc.integer({ min: 1, max: 4 }),
    qty: fc.integer({ min: 1, max: 20 }),
    eta: fc.constantFrom(null, "2030-01-01", "2030-02-01"),
  }),
  fc.record({
    kind: fc.constant("change" as const),
    ref: fc.integer({ min: 1, max: 4 }),
    qty: fc.integer({ min: 0, max: 20 }),
  }),
  fc.record({
    kind: fc.constant("delay" as const),
    ref: fc.integer({ min: 1, max: 4 }),
    eta: fc.constantFrom("2030-01-15", "2030-03-01"),
  }),
);
