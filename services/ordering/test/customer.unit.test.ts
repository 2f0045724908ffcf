import { describe, expect, it } from "vitest";
import { becameVipAt, isVip } from "../src/domain/customer.js";

describe("a customer", () => {
  it("is VIP from the third order on", () => {
    expect([1, 2, 3, 4].map((orderCount) => isVip({ customerId: "c", orderCount }))).toEqual([
      false,
      false,
      true,
      true,
    ]);
  });

  it("becomes VIP at exactly one order count", () => {
    expect([1, 2, 3, 4, 5].filter(becameVipAt)).toEqual([3]);
  });
});
