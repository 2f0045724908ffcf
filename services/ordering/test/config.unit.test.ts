import { describe, expect, it } from "vitest";
import { loadConfig } from "../src/config.js";

describe("ordering's configuration", () => {
  it("defaults to port 3001, its own database and 6000 requests per minute", () => {
    expect(loadConfig({})).toMatchObject({
      port: 3001,
      host: "127.0.0.1",
      databaseUrl: "postgres://postgres@127.0.0.1:5432/ordering",
      natsServers: ["nats://127.0.0.1:4222"],
      rateLimitPerMinute: 6000,
      maxWaitingRequests: 10_000,
    });
  });

  it("turns the rate limit off with 0", () => {
    expect(loadConfig({ RATE_LIMIT_PER_MINUTE: "0" }).rateLimitPerMinute).toBe(0);
  });

  it("refuses a rate limit that is not a non-negative integer", () => {
    expect(() => loadConfig({ RATE_LIMIT_PER_MINUTE: "-1" })).toThrow(/RATE_LIMIT_PER_MINUTE/);
    expect(() => loadConfig({ RATE_LIMIT_PER_MINUTE: "lots" })).toThrow(/RATE_LIMIT_PER_MINUTE/);
  });

  it("refuses a cap on waiting requests that is not a non-negative integer", () => {
    expect(loadConfig({ ORDER_WAIT_MAX_REQUESTS: "0" }).maxWaitingRequests).toBe(0);
    expect(() => loadConfig({ ORDER_WAIT_MAX_REQUESTS: "-5" })).toThrow(/ORDER_WAIT_MAX_REQUESTS/);
  });

  it("reads line_allocated v2 unless told to read the deprecated v1, and nothing else", () => {
    expect(loadConfig({}).lineAllocatedVersion).toBe(2);
    expect(loadConfig({ LINE_ALLOCATED_VERSION: "1" }).lineAllocatedVersion).toBe(1);
    expect(() => loadConfig({ LINE_ALLOCATED_VERSION: "3" })).toThrow(/LINE_ALLOCATED_VERSION/);
  });
});
