import { describe, expect, it } from "vitest";
import { canonicalJson, requestHash } from "../src/http/request-hash.js";

describe("the request hash of an idempotent POST", () => {
  it("does not depend on the order of object keys", () => {
    expect(requestHash({ customerId: "c", lines: [{ sku: "a", qty: 1 }] })).toBe(
      requestHash({ lines: [{ qty: 1, sku: "a" }], customerId: "c" }),
    );
  });

  it("tells bodies apart that differ in any value or in the order of lines", () => {
    const base = {
      customerId: "c",
      lines: [
        { sku: "a", qty: 1 },
        { sku: "b", qty: 1 },
      ],
    };
    const others = [
      { ...base, customerId: "d" },
      {
        ...base,
        lines: [
          { sku: "a", qty: 2 },
          { sku: "b", qty: 1 },
        ],
      },
      {
        ...base,
        lines: [
          { sku: "b", qty: 1 },
          { sku: "a", qty: 1 },
        ],
      },
    ];
    for (const other of others) expect(requestHash(other)).not.toBe(requestHash(base));
  });

  it("spells strings as JSON, so no key or value can imitate structure", () => {
    expect(canonicalJson({ 'a":1,"b': 2 })).toBe('{"a\\":1,\\"b":2}');
  });
});
