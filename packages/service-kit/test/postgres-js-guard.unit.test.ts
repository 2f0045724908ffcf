import { describe, expect, it } from "vitest";
import { isPostgresJsClosedSocketWrite } from "../src/postgres-js-guard.js";

const crash = () => {
  const err = new TypeError("Cannot read properties of null (reading 'write')");
  err.stack = `TypeError: Cannot read properties of null (reading 'write')
    at Immediate.nextWrite (file:///app/node_modules/.pnpm/postgres@3.4.9/node_modules/postgres/src/connection.js:255:22)
    at process.processImmediate (node:internal/timers:483:21)`;
  return err;
};

describe("the postgres-js closed-socket guard", () => {
  it("recognises the write postgres-js flushes after its socket closed", () => {
    expect(isPostgresJsClosedSocketWrite(crash())).toBe(true);
  });

  it("leaves every other error alone", () => {
    expect(
      isPostgresJsClosedSocketWrite(new TypeError("Cannot read properties of null (reading 'write')")),
    ).toBe(false);
    const elsewhere = crash();
    elsewhere.stack = elsewhere.stack?.replace("postgres/src/connection.js", "my-app/src/db.js");
    expect(isPostgresJsClosedSocketWrite(elsewhere)).toBe(false);
    expect(isPostgresJsClosedSocketWrite(new Error("boom"))).toBe(false);
    expect(isPostgresJsClosedSocketWrite("reading 'write'")).toBe(false);
  });
});
