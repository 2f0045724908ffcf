import { describe, expect, it } from "vitest";
import { firstCopies } from "../src/consumer/attempt.js";
import { blamesTheMessage, deadLetters, retryDelay, sqlState } from "../src/consumer/failure-policy.js";
import { callsOf, type Handler } from "../src/consumer/handlers.js";

const conflict = Object.assign(new Error("conflict"), { name: "Conflict" });
const policy = {
  maxAttempts: 3,
  retryDelaysMs: [100, 200],
  isTransient: (err: unknown) => err === conflict,
};
const unavailable = Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" });

describe("the failure policy", () => {
  it("delays redeliveries by attempt, the last delay repeating", () => {
    expect([1, 2, 3, 9].map((n) => retryDelay(policy, n))).toEqual([100, 200, 200, 200]);
  });

  it("dead-letters a message failing on its own at its last attempt, never for a conflict or an outage", () => {
    const own = new Error("bad data");
    expect(deadLetters(policy, 2, own)).toBe(false);
    expect(deadLetters(policy, 3, own)).toBe(true);
    expect(deadLetters(policy, 3, conflict)).toBe(false);
    expect(deadLetters(policy, 30, unavailable)).toBe(false);
  });

  it("finds a SQLSTATE on a wrapped cause", () => {
    expect(sqlState(new Error("drizzle", { cause: { code: "23505" } }))).toBe("23505");
    expect(sqlState(new Error("plain"))).toBeUndefined();
  });

  it("blames the message for its own error, not for a conflict, an outage or an aborted transaction", () => {
    expect(blamesTheMessage(policy, new Error("bad data"))).toBe(true);
    expect(blamesTheMessage(policy, conflict)).toBe(false);
    expect(blamesTheMessage(policy, unavailable)).toBe(false);
    expect(blamesTheMessage(policy, Object.assign(new Error("aborted"), { code: "25P02" }))).toBe(false);
  });
});

describe("a batch's calls", () => {
  const handler = (batched: boolean): Handler => ({ contracts: [], batched, run: async () => {} });
  const one = handler(false);
  const many = handler(true);
  const other = handler(true);

  it("handles the first copy of a message id and treats later copies as duplicates", () => {
    expect(firstCopies(["a", "b", "a", "c", "b"])).toEqual([true, true, false, true, false]);
  });

  it("gives a batch handler one call per run of its applied messages, a per-message handler one call each", () => {
    const handlers = [many, many, one, one, many, other, many];
    expect(callsOf(handlers, [true, true, true, true, true, true, true])).toEqual([
      [0, 1],
      [2],
      [3],
      [4],
      [5],
      [6],
    ]);
  });

  it("does not let a duplicate cut a run, nor run it", () => {
    expect(callsOf([many, many, many], [true, false, true])).toEqual([[0, 2]]);
  });
});
