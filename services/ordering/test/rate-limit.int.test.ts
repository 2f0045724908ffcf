import Fastify from "fastify";
import { describe, expect, it } from "vitest";
import { limitRequestsPerMinute } from "../src/http/rate-limit.js";

async function appWithLimit(perMinute: number, now: () => number) {
  const app = Fastify();
  await app.register(async (scope) => {
    limitRequestsPerMinute(scope, perMinute, now);
    scope.get("/limited", async () => ({ ok: true }));
  });
  app.get("/healthz", async () => ({ ok: true }));
  return app;
}

describe("the storefront rate limit", () => {
  it("answers 429 with Retry-After beyond the limit and lets the client in again next minute", async () => {
    let t = 1_000_000;
    const app = await appWithLimit(2, () => t);
    const get = () => app.inject({ method: "GET", url: "/limited" });
    expect((await get()).statusCode).toBe(200);
    expect((await get()).statusCode).toBe(200);
    t += 15_000;
    const refused = await get();
    expect(refused.statusCode).toBe(429);
    expect(refused.headers["retry-after"]).toBe("45");
    expect(refused.json()).toEqual({ error: "too_many_requests", message: expect.any(String) });
    t += 45_000;
    expect((await get()).statusCode).toBe(200);
    await app.close();
  });

  it("leaves routes outside the storefront scope alone", async () => {
    const app = await appWithLimit(1, () => 0);
    await app.inject({ method: "GET", url: "/limited" });
    expect((await app.inject({ method: "GET", url: "/limited" })).statusCode).toBe(429);
    expect((await app.inject({ method: "GET", url: "/healthz" })).statusCode).toBe(200);
    await app.close();
  });

  it("is off at 0", async () => {
    const app = await appWithLimit(0, () => 0);
    for (let i = 0; i < 5; i++)
      expect((await app.inject({ method: "GET", url: "/limited" })).statusCode).toBe(200);
    await app.close();
  });
});
