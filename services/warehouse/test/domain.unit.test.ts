import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type Batch,
  DamageExceedsQuantity,
  type DispatchInstruction,
  delayShipment,
  EtaNotLater,
  InvalidQuantity,
  newBatch,
  onLineAllocated,
  onLineDeallocated,
  reportDamage,
} from "../src/domain/index.js";

const batch = (over: Partial<Batch> = {}): Batch => ({
  reference: "b1",
  sku: "LAMP",
  qty: 10,
  eta: null,
  ...over,
});

describe("a batch", () => {
  it("is registered with a positive whole quantity", () => {
    expect(newBatch("b1", "LAMP", 5, "2030-01-02")).toEqual({
      reference: "b1",
      sku: "LAMP",
      qty: 5,
      eta: "2030-01-02",
    });
    expect(() => newBatch("b1", "LAMP", 0, null)).toThrow(InvalidQuantity);
    expect(() => newBatch("b1", "LAMP", 1.5, null)).toThrow(InvalidQuantity);
  });

  it("loses the damaged units", () => {
    expect(reportDamage(batch({ qty: 10 }), 3).qty).toBe(7);
  });

  it("may lose every unit it holds", () => {
    expect(reportDamage(batch({ qty: 4 }), 4).qty).toBe(0);
  });

  it("refuses damage beyond what it holds and stays as it was", () => {
    const b = batch({ qty: 4 });
    expect(() => reportDamage(b, 5)).toThrow(DamageExceedsQuantity);
    try {
      reportDamage(b, 5);
    } catch (err) {
      expect((err as DamageExceedsQuantity).code).toBe("damage_exceeds_quantity");
    }
    expect(b.qty).toBe(4);
  });

  it("never goes below zero whatever damage is reported", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 1, max: 2000 }), (qty, damaged) => {
        try {
          const after = reportDamage(batch({ qty }), damaged);
          return after.qty === qty - damaged && after.qty >= 0;
        } catch (err) {
          return err instanceof DamageExceedsQuantity && damaged > qty;
        }
      }),
    );
  });

  it("refuses a damage quantity that is not a positive whole number", () => {
    expect(() => reportDamage(batch(), 0)).toThrow(InvalidQuantity);
    expect(() => reportDamage(batch(), -2)).toThrow(InvalidQuantity);
  });

  it("moves a shipment's arrival later when it is delayed", () => {
    expect(delayShipment(batch({ eta: "2030-01-10" }), "2030-02-01")).toEqual({
      changed: true,
      batch: batch({ eta: "2030-02-01" }),
    });
  });

  it("turns stock on hand into a shipment when it is delayed", () => {
    const outcome = delayShipment(batch({ eta: null }), "2030-02-01");
    expect(outcome.changed && outcome.batch.eta).toBe("2030-02-01");
  });

  it("changes nothing when delayed to the date it already has", () => {
    expect(delayShipment(batch({ eta: "2030-01-10" }), "2030-01-10")).toEqual({ changed: false });
  });

  it("refuses a delay to an earlier date", () => {
    expect(() => delayShipment(batch({ eta: "2030-01-10" }), "2030-01-09")).toThrow(EtaNotLater);
  });
});

describe("a dispatch instruction", () => {
  const line = { orderId: "o1", sku: "LAMP", batchref: "b1", qty: 2 };

  it("is pending once its line is allocated", () => {
    expect(onLineAllocated(undefined, { ...line, version: 3 })).toEqual({
      ...line,
      status: "pending",
      version: 3,
    });
  });

  it("is cancelled once its line is deallocated", () => {
    const pending = onLineAllocated(undefined, { ...line, version: 3 })!;
    expect(onLineDeallocated(pending, { ...line, version: 4 })).toEqual({
      ...line,
      status: "cancelled",
      version: 4,
    });
  });

  it("ignores a redelivered event", () => {
    const pending = onLineAllocated(undefined, { ...line, version: 3 })!;
    expect(onLineAllocated(pending, { ...line, version: 3 })).toBeUndefined();
  });

  it("keeps the newer state when an older event arrives late", () => {
    const cancelled = onLineDeallocated(undefined, { ...line, version: 4 })!;
    expect(cancelled.status).toBe("cancelled");
    expect(onLineAllocated(cancelled, { ...line, version: 3 })).toBeUndefined();
  });

  it("becomes pending again when its line is reallocated to the same batch", () => {
    const cancelled: DispatchInstruction = { ...line, status: "cancelled", version: 4 };
    expect(onLineAllocated(cancelled, { ...line, qty: 2, version: 7 })).toEqual({
      ...line,
      status: "pending",
      version: 7,
    });
  });

  it("ends in the state of the highest version whatever order the events arrive in", () => {
    const event = fc.record({ allocated: fc.boolean(), version: fc.integer({ min: 1, max: 50 }) });
    fc.assert(
      fc.property(
        fc.uniqueArray(event, { selector: (e) => e.version, minLength: 1, maxLength: 8 }),
        (events) => {
          let state: DispatchInstruction | undefined;
          for (const e of events) {
            const apply = e.allocated ? onLineAllocated : onLineDeallocated;
            state = apply(state, { ...line, version: e.version }) ?? state;
          }
          const last = events.reduce((a, b) => (b.version > a.version ? b : a));
          return (
            state?.version === last.version && state.status === (last.allocated ? "pending" : "cancelled")
          );
        },
      ),
    );
  });
});
