import { describe, expect, it } from "vitest";
import {
  batchRegisteredV1,
  type Contract,
  compareSchemas,
  lineDeallocatedV1,
  orderPlacedV1,
} from "../src/index.js";
import { schemaSnapshot } from "../src/snapshots.js";

// The schemas as JSON, the way a snapshot holds them; each test breaks a copy of a real one.
// biome-ignore lint/suspicious/noExplicitAny: the copies are edited freely, like a careless developer would.
type Json = any;

const copyOf = (contract: Contract): Json => structuredClone(schemaSnapshot(contract));

function changed(contract: Contract, edit: (schema: Json) => void) {
  const next = copyOf(contract);
  edit(next);
  return compareSchemas(schemaSnapshot(contract), next);
}

describe("compareSchemas", () => {
  it("finds nothing between a contract and itself", () => {
    expect(compareSchemas(schemaSnapshot(orderPlacedV1), copyOf(orderPlacedV1))).toEqual({
      breaking: [],
      additive: [],
    });
  });

  it("ignores a changed description", () => {
    const changes = changed(orderPlacedV1, (s) => {
      s.properties.orderId.description = "the id of the order, as ordering gave it";
    });
    expect(changes).toEqual({ breaking: [], additive: [] });
  });

  const breakingEdits: [string, Contract, (schema: Json) => void, string][] = [
    ["a removed field", orderPlacedV1, (s) => delete s.properties.customerId, "customerId: field removed"],
    [
      "a field removed from the items of an array",
      orderPlacedV1,
      (s) => delete s.properties.lines.items.properties.sku,
      "lines[].sku: field removed",
    ],
    [
      "a changed type",
      orderPlacedV1,
      (s) => {
        s.properties.orderId = { type: "integer" };
      },
      "orderId: type changed from string to integer",
    ],
    [
      "a changed type inside array items",
      orderPlacedV1,
      (s) => {
        s.properties.lines.items.properties.qty.type = "number";
      },
      "lines[].qty: type changed from integer to number",
    ],
    [
      "a field that may now be null",
      orderPlacedV1,
      (s) => {
        s.properties.placedAt = { anyOf: [s.properties.placedAt, { type: "null" }] };
      },
      "placedAt: type changed, now also accepts null",
    ],
    [
      "a field that may no longer be null",
      batchRegisteredV1,
      (s) => {
        s.properties.eta = s.properties.eta.anyOf[0];
      },
      "eta: type changed, no longer accepts null",
    ],
    [
      "a removed literal of a union",
      lineDeallocatedV1,
      (s) => {
        s.properties.reason.anyOf = s.properties.reason.anyOf.slice(0, 1);
      },
      'reason: value "order_cancelled" removed',
    ],
    [
      "a removed enum value",
      lineDeallocatedV1,
      (s) => {
        s.properties.reason = { type: "string", enum: ["batch_quantity_changed"] };
      },
      'reason: value "order_cancelled" removed',
    ],
    [
      "a required field made optional",
      orderPlacedV1,
      (s) => {
        s.required = s.required.filter((name: string) => name !== "placedAt");
      },
      "placedAt: required field made optional",
    ],
    [
      "a new required field",
      orderPlacedV1,
      (s) => {
        s.properties.channel = { type: "string" };
        s.required.push("channel");
      },
      "channel: new required field",
    ],
    [
      "a new required field in array items",
      orderPlacedV1,
      (s) => {
        s.properties.lines.items.properties.price = { type: "number" };
        s.properties.lines.items.required.push("price");
      },
      "lines[].price: new required field",
    ],
    [
      "a raised minimum",
      orderPlacedV1,
      (s) => {
        s.properties.lines.items.properties.qty.minimum = 2;
      },
      "lines[].qty: minimum raised from 1 to 2",
    ],
    [
      "a new maximum",
      orderPlacedV1,
      (s) => {
        s.properties.lines.items.properties.qty.maximum = 10_000;
      },
      "lines[].qty: maximum 10000 added",
    ],
    [
      "a lowered maxLength",
      orderPlacedV1,
      (s) => {
        s.properties.orderId.maxLength = 36;
      },
      "orderId: maxLength lowered from 200 to 36",
    ],
    [
      "a raised minLength",
      orderPlacedV1,
      (s) => {
        s.properties.customerId.minLength = 3;
      },
      "customerId: minLength raised from 1 to 3",
    ],
    [
      "a lowered maxItems",
      orderPlacedV1,
      (s) => {
        s.properties.lines.maxItems = 10;
      },
      "lines: maxItems lowered from 100 to 10",
    ],
    [
      "a new pattern",
      orderPlacedV1,
      (s) => {
        s.properties.orderId.pattern = "^ord_";
      },
      'orderId: pattern "^ord_" added',
    ],
    [
      "a changed format",
      orderPlacedV1,
      (s) => {
        s.properties.placedAt.format = "date";
      },
      'placedAt: format changed from "date-time" to "date"',
    ],
    [
      "a new format",
      orderPlacedV1,
      (s) => {
        s.properties.orderId.format = "uuid";
      },
      'orderId: format "uuid" added',
    ],
    [
      "unknown fields forbidden",
      orderPlacedV1,
      (s) => {
        s.additionalProperties = false;
      },
      "(root): unknown fields no longer allowed",
    ],
  ];

  it.each(breakingEdits)("reports %s as breaking", (_, contract, edit, reason) => {
    const changes = changed(contract, edit);
    expect(changes.breaking).toContain(reason);
  });

  it("reports an optional field made required as breaking", () => {
    const withNote = copyOf(orderPlacedV1);
    withNote.properties.note = { type: "string" };
    const required = structuredClone(withNote);
    required.required.push("note");
    expect(compareSchemas(withNote, required).breaking).toEqual(["note: optional field made required"]);
  });

  it("accepts a new optional field as additive", () => {
    const changes = changed(orderPlacedV1, (s) => {
      s.properties.note = { type: "string", maxLength: 500 };
    });
    expect(changes).toEqual({ breaking: [], additive: ["note: new optional field"] });
  });

  it("accepts a new optional field inside array items as additive", () => {
    const changes = changed(orderPlacedV1, (s) => {
      s.properties.lines.items.properties.giftWrap = { type: "boolean" };
    });
    expect(changes).toEqual({ breaking: [], additive: ["lines[].giftWrap: new optional field"] });
  });

  it("accepts loosened bounds as additive", () => {
    const changes = changed(orderPlacedV1, (s) => {
      s.properties.orderId.maxLength = 500;
      s.properties.customerId.minLength = 0;
      s.properties.lines.maxItems = 1000;
      s.properties.lines.items.properties.qty.minimum = 0;
    });
    expect(changes.breaking).toEqual([]);
    expect(changes.additive).toEqual([
      "orderId: maxLength raised from 200 to 500",
      "customerId: minLength lowered from 1 to 0",
      "lines: maxItems raised from 100 to 1000",
      "lines[].qty: minimum lowered from 1 to 0",
    ]);
  });

  it("accepts a new literal of a union as additive", () => {
    const changes = changed(lineDeallocatedV1, (s) => {
      s.properties.reason.anyOf.push({ const: "batch_removed", type: "string" });
    });
    expect(changes).toEqual({ breaking: [], additive: ['reason: value "batch_removed" added'] });
  });

  it("reports every breaking change of an edit, not only the first", () => {
    const changes = changed(orderPlacedV1, (s) => {
      delete s.properties.orderId;
      s.properties.placedAt.type = "integer";
    });
    expect(changes.breaking).toEqual([
      "orderId: field removed",
      "placedAt: type changed from string to integer",
    ]);
  });
});
