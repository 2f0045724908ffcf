import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { InvalidOrder, OrderAlreadyCancelled } from "../src/domain/errors.js";
import {
  applyLineReport,
  cancelOrder,
  createOrder,
  type LineReport,
  type Order,
  orderStatus,
} from "../src/domain/order.js";

const t0 = new Date("2030-01-01T00:00:00Z");
const t1 = new Date("2030-01-01T00:01:00Z");

const order = (...skus: string[]): Order =>
  createOrder({ orderId: "o-1", customerId: "c-1", lines: skus.map((sku) => ({ sku, qty: 2 })), now: t0 });

const apply = (o: Order, ...reports: LineReport[]): Order =>
  reports.reduce((acc, r) => applyLineReport(acc, r, t1).order, o);

const allocated = (sku: string, version: number, batchref = "b-1"): LineReport => ({
  kind: "allocated",
  sku,
  batchref,
  version,
});
const deallocated = (sku: string, version: number): LineReport => ({ kind: "deallocated", sku, version });
const outOfStock = (sku: string, version: number): LineReport => ({ kind: "out_of_stock", sku, version });

describe("a new order", () => {
  it("starts pending with every line pending and no batch", () => {
    const o = order("chair", "table");
    expect(orderStatus(o)).toBe("pending");
    expect(o.lines.map((l) => [l.status, l.batchref, l.version])).toEqual([
      ["pending", null, 0],
      ["pending", null, 0],
    ]);
  });

  it("refuses the same sku twice", () => {
    expect(() => order("chair", "chair")).toThrow(InvalidOrder);
  });

  it("refuses no lines and more than 100 lines", () => {
    expect(() => order()).toThrow(InvalidOrder);
    const many = Array.from({ length: 101 }, (_, i) => `sku-${i}`);
    expect(() => order(...many)).toThrow(InvalidOrder);
    expect(orderStatus(order(...many.slice(0, 100)))).toBe("pending");
  });

  it("refuses quantities outside 1..10000", () => {
    const make = (qty: number) => () =>
      createOrder({ orderId: "o", customerId: "c", lines: [{ sku: "s", qty }], now: t0 });
    expect(make(0)).toThrow(InvalidOrder);
    expect(make(10_001)).toThrow(InvalidOrder);
    expect(make(1.5)).toThrow(InvalidOrder);
    expect(make(10_000)).not.toThrow();
  });
});

describe("the order status", () => {
  it("stays pending while any line is unanswered", () => {
    expect(orderStatus(apply(order("a", "b"), allocated("a", 1)))).toBe("pending");
  });

  it("is allocated when every line is allocated", () => {
    const o = apply(order("a", "b"), allocated("a", 1, "b-a"), allocated("b", 1, "b-b"));
    expect(orderStatus(o)).toBe("allocated");
    expect(o.lines.map((l) => l.batchref)).toEqual(["b-a", "b-b"]);
  });

  it("is partially allocated when some lines are allocated and the rest backordered", () => {
    expect(orderStatus(apply(order("a", "b"), allocated("a", 1), outOfStock("b", 1)))).toBe(
      "partially_allocated",
    );
  });

  it("is backordered when every line is answered and none is allocated", () => {
    expect(orderStatus(apply(order("a", "b"), outOfStock("a", 1), outOfStock("b", 4)))).toBe("backordered");
  });

  it("goes back to pending when an allocated line is deallocated", () => {
    const o = apply(order("a"), allocated("a", 1), deallocated("a", 2));
    expect(orderStatus(o)).toBe("pending");
    expect(o.lines[0]?.batchref).toBeNull();
  });

  it("is allocated again when a deallocated line is reallocated", () => {
    const o = apply(order("a"), allocated("a", 1, "old"), deallocated("a", 2), allocated("a", 3, "new"));
    expect(orderStatus(o)).toBe("allocated");
    expect(o.lines[0]?.batchref).toBe("new");
  });

  it("is allocated when a backordered line is allocated later", () => {
    expect(orderStatus(apply(order("a"), outOfStock("a", 1), allocated("a", 2)))).toBe("allocated");
  });
});

describe("allocation reports arriving out of order", () => {
  it("keep the state of the higher product version", () => {
    const o = apply(order("a"), allocated("a", 5, "new"), deallocated("a", 4), allocated("a", 3, "old"));
    expect(o.lines[0]).toMatchObject({ status: "allocated", batchref: "new", version: 5 });
  });

  it("ignore a report at the version already applied", () => {
    const first = apply(order("a"), outOfStock("a", 2));
    const { outcome } = applyLineReport(first, allocated("a", 2), t1);
    expect(outcome).toBe("stale");
  });

  it("let an answer follow a deallocation of the same product change", () => {
    const o = apply(order("a"), allocated("a", 1, "old"), deallocated("a", 2), allocated("a", 2, "new"));
    expect(o.lines[0]).toMatchObject({ status: "allocated", batchref: "new", version: 2 });
  });

  it("never let a deallocation undo an answer of the same product change", () => {
    const o = apply(order("a"), allocated("a", 2, "new"), deallocated("a", 2));
    expect(o.lines[0]).toMatchObject({ status: "allocated", batchref: "new" });
  });

  it("ignore reports about a sku the order does not have", () => {
    expect(applyLineReport(order("a"), allocated("zzz", 1), t1).outcome).toBe("unknown_line");
  });
});

describe("the eta of an allocated line", () => {
  const v2 = (version: number, eta: string | null, batchref = "b-1"): LineReport => ({
    kind: "allocated",
    sku: "a",
    batchref,
    eta,
    version,
  });

  it("is the batch's eta from v2, null for stock on hand and for a line not allocated", () => {
    expect(apply(order("a"), v2(1, "2031-03-01")).lines[0]?.eta).toBe("2031-03-01");
    expect(apply(order("a"), v2(1, null)).lines[0]?.eta).toBeNull();
    expect(apply(order("a"), v2(1, "2031-03-01"), deallocated("a", 2)).lines[0]?.eta).toBeNull();
    expect(apply(order("a"), v2(1, "2031-03-01"), outOfStock("a", 2)).lines[0]?.eta).toBeNull();
  });

  it("takes a delayed shipment's eta, announced at a higher version", () => {
    const o = apply(order("a"), v2(1, "2031-03-01"), v2(3, "2031-04-01"), v2(2, "2031-03-15"));
    expect(o.lines[0]).toMatchObject({ eta: "2031-04-01", version: 3 });
  });

  it("is added by the v2 of a change a v1 reader applied, at the same version, and by nothing else", () => {
    const byV1 = apply(order("a"), allocated("a", 4));
    expect(byV1.lines[0]).toMatchObject({ status: "allocated", eta: null, version: 4 });
    const { order: byV2, outcome } = applyLineReport(byV1, v2(4, "2031-03-01"), t1);
    expect(outcome).toBe("applied");
    expect(byV2.lines[0]).toMatchObject({
      status: "allocated",
      batchref: "b-1",
      eta: "2031-03-01",
      version: 4,
    });
    // The same v2 again, its v1 again, or a v2 at that version for another batch: nothing.
    for (const again of [v2(4, "2031-03-01"), allocated("a", 4), v2(4, "2031-05-05", "b-other")]) {
      expect(applyLineReport(byV2, again, t1).outcome).toBe("stale");
    }
  });

  it("is not changed by the v1 of a change whose v2 was applied", () => {
    const o = apply(order("a"), v2(4, "2031-03-01"), allocated("a", 4));
    expect(o.lines[0]).toMatchObject({ eta: "2031-03-01", version: 4 });
  });

  it("needs no v2 at the same version for stock on hand, whose eta v1 left null", () => {
    const byV1 = apply(order("a"), allocated("a", 4));
    expect(applyLineReport(byV1, v2(4, null), t1).outcome).toBe("stale");
  });
});

describe("cancelling an order", () => {
  it("cancels every line and the order", () => {
    const o = cancelOrder(apply(order("a", "b"), allocated("a", 1)), t1);
    expect(orderStatus(o)).toBe("cancelled");
    expect(o.lines.map((l) => [l.status, l.batchref])).toEqual([
      ["cancelled", null],
      ["cancelled", null],
    ]);
    expect(o.updatedAt).toEqual(t1);
  });

  it("refuses to cancel twice", () => {
    expect(() => cancelOrder(cancelOrder(order("a"), t1), t1)).toThrow(OrderAlreadyCancelled);
  });

  it("is not undone by allocation reports arriving later", () => {
    const cancelled = cancelOrder(order("a"), t1);
    const { order: after, outcome } = applyLineReport(cancelled, allocated("a", 9), t1);
    expect(outcome).toBe("order_cancelled");
    expect(orderStatus(after)).toBe("cancelled");
    expect(after.lines[0]?.status).toBe("cancelled");
  });
});

describe("any delivery order of reports about one line", () => {
  it("ends in the state of the report with the highest version", () => {
    const report = fc
      .tuple(
        fc.constantFrom("allocated", "deallocated", "out_of_stock"),
        fc.string({ minLength: 1, maxLength: 3 }),
      )
      .map(([kind, batchref]) => ({ kind, batchref }));
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 1, max: 1000 }), { minLength: 1, maxLength: 8 }),
        fc.array(report, { minLength: 8, maxLength: 8 }),
        fc.func(fc.integer()),
        (versions, kinds, shuffleKey) => {
          const reports = versions.map((version, i): LineReport => {
            const { kind, batchref } = kinds[i] ?? { kind: "deallocated", batchref: "" };
            return kind === "allocated"
              ? { kind, sku: "a", batchref, version }
              : { kind: kind as "deallocated" | "out_of_stock", sku: "a", version };
          });
          const delivered = [...reports].sort((x, y) => shuffleKey(x.version) - shuffleKey(y.version));
          const newest = [...reports].sort((x, y) => y.version - x.version)[0] as LineReport;
          expect(apply(order("a"), ...delivered).lines[0]).toEqual(apply(order("a"), newest).lines[0]);
        },
      ),
    );
  });
});
