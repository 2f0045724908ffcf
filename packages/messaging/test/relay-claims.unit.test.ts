import { describe, expect, it } from "vitest";
import { Claims } from "../src/relay/claims.js";
import { prefixBeforeFailure } from "../src/relay/publisher.js";
import { recentIds } from "../src/relay/recent-ids.js";

describe("the relay's claims", () => {
  it("publishes a row once, whichever way it came, until its publish fails", () => {
    const claims = new Claims();
    expect(claims.isFresh("1")).toBe(true);
    claims.claim("1");
    expect(claims.isFresh("1")).toBe(false);
    expect(claims.claimedIds()).toEqual(["1"]);
    claims.unclaim("1");
    expect(claims.isFresh("1")).toBe(true);
  });

  it("keeps published ids for the next marking, in order, and again when a marking fails", () => {
    const claims = new Claims();
    for (const id of ["1", "2", "3"]) claims.claim(id);
    claims.published(["1", "2"]);
    const marking = claims.takeUnmarked();
    expect(marking).toEqual(["1", "2"]);
    claims.published(["3"]);
    claims.notMarked(marking);
    expect(claims.takeUnmarked()).toEqual(["1", "2", "3"]);
  });

  it("passes over marked ids in reads no more, but remembers them as published for a while", () => {
    let now = 0;
    const claims = new Claims(1000, () => now);
    claims.claim("1");
    claims.marked(["1"]);
    expect(claims.claimedIds()).toEqual([]);
    expect(claims.isFresh("1")).toBe(false);
    now = 2500;
    expect(claims.isFresh("1")).toBe(true);
  });
});

describe("recent ids", () => {
  it("forgets an id after one to two lifetimes", () => {
    let now = 0;
    const recent = recentIds(100, () => now);
    recent.add("a");
    now = 150;
    expect(recent.has("a")).toBe(true);
    recent.add("b");
    now = 260;
    expect(recent.has("a")).toBe(false);
    expect(recent.has("b")).toBe(true);
    now = 500;
    expect(recent.has("b")).toBe(false);
  });
});

describe("a run of publishes", () => {
  it("counts as published only the rows before the first failure", () => {
    const boom = new Error("boom");
    const results: PromiseSettledResult<void>[] = [
      { status: "fulfilled", value: undefined },
      { status: "rejected", reason: boom },
      { status: "fulfilled", value: undefined },
    ];
    expect(prefixBeforeFailure(["a", "b", "c"], results)).toEqual({
      done: ["a"],
      rest: ["b", "c"],
      failure: boom,
    });
    expect(prefixBeforeFailure(["a"], [results[0]!])).toEqual({ done: ["a"], rest: [] });
  });
});
