import { describe, expect, it } from "vitest";
import { becameVipAt, becameVipEvent, isVip } from "../src/domain/customer.js";

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

  it("carries its became-VIP event for exactly the count at which it becomes VIP", () => {
    // The intake's SQL writes an event with at_order_count only for the order reaching that count.
    const { atOrderCount, payload } = becameVipEvent("c");
    const counts = [1, 2, 3, 4, 5, 6];
    expect(counts.filter((n) => n === atOrderCount)).toEqual(counts.filter(becameVipAt));
    expect(isVip({ customerId: "c", orderCount: payload.orderCount })).toBe(true);
  });
});
