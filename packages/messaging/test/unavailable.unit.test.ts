import { describe, expect, it } from "vitest";
import { isDatabaseUnavailable } from "../src/unavailable.js";

const coded = (code: string) => Object.assign(new Error(code), { code });

describe("isDatabaseUnavailable", () => {
  it("recognises a database that is away, even wrapped by drizzle", () => {
    expect(isDatabaseUnavailable(coded("ECONNREFUSED"))).toBe(true);
    expect(isDatabaseUnavailable(coded("CONNECTION_CLOSED"))).toBe(true);
    expect(isDatabaseUnavailable(coded("57P01"))).toBe(true);
    expect(isDatabaseUnavailable(coded("08006"))).toBe(true);
    expect(isDatabaseUnavailable(new Error("Failed query", { cause: coded("CONNECT_TIMEOUT") }))).toBe(true);
  });

  it("does not excuse a failure of the message itself", () => {
    expect(isDatabaseUnavailable(coded("23505"))).toBe(false);
    expect(isDatabaseUnavailable(new Error("Failed query", { cause: coded("22003") }))).toBe(false);
    expect(isDatabaseUnavailable(new TypeError("x is undefined"))).toBe(false);
    expect(isDatabaseUnavailable(undefined)).toBe(false);
  });
});
