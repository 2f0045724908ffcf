import { describe, expect, it } from "vitest";
import { KeyScheduler } from "../src/consumer/key-scheduler.js";

const item = (id: string, key: string, at = 0) => ({ id, key, at });
const ids = (batch: readonly { id: string }[]) => batch.map((i) => i.id);

describe("the key scheduler", () => {
  it("takes queued items in stream order up to the batch size", () => {
    const s = new KeyScheduler<ReturnType<typeof item>>({ batchSize: 2, lingerMs: 0 });
    for (const [id, key] of [
      ["a", "k1"],
      ["b", "k2"],
      ["c", "k3"],
    ])
      s.push(item(id!, key!));
    expect(ids(s.take())).toEqual(["a", "b"]);
    expect(s.queued).toBe(1);
  });

  it("leaves a held key's items queued until its batch is released, keeping the key's order", () => {
    const s = new KeyScheduler<ReturnType<typeof item>>({ batchSize: 10, lingerMs: 0 });
    s.push(item("a1", "a"));
    const first = s.take();
    s.push(item("a2", "a"));
    s.push(item("b1", "b"));
    s.push(item("a3", "a"));
    expect(ids(s.take())).toEqual(["b1"]);
    s.release(first);
    expect(ids(s.take())).toEqual(["a2", "a3"]);
  });

  it("puts two items of one key in one batch, never in two batches at once", () => {
    const s = new KeyScheduler<ReturnType<typeof item>>({ batchSize: 10, lingerMs: 0 });
    s.push(item("a1", "a"));
    s.push(item("a2", "a"));
    expect(ids(s.take())).toEqual(["a1", "a2"]);
    s.push(item("a3", "a"));
    expect(s.take()).toEqual([]);
  });

  it("says a batch is due at once without linger, and after the oldest item lingered otherwise", () => {
    const eager = new KeyScheduler<ReturnType<typeof item>>({ batchSize: 3, lingerMs: 0 });
    expect(eager.waitMs(0)).toBeUndefined();
    eager.push(item("a", "a", 100));
    expect(eager.waitMs(100)).toBe(0);

    const lingering = new KeyScheduler<ReturnType<typeof item>>({ batchSize: 3, lingerMs: 50 });
    lingering.push(item("a", "a", 100));
    lingering.push(item("b", "b", 120));
    expect(lingering.waitMs(110)).toBe(40);
    expect(lingering.waitMs(160)).toBe(0);
    expect(lingering.waitMs(110, true)).toBe(0);
    lingering.push(item("c", "c", 130));
    expect(lingering.waitMs(130)).toBe(0);
  });
});
