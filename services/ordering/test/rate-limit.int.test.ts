import { createUnitOfWork as createKitUnitOfWork } from "@stockflow/messaging";
import type { HttpApp } from "@stockflow/service-kit";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { createUnitOfWork } from "../src/adapters/db/unit-of-work.js";
import { createOrderWaiters } from "../src/app/order-waiters.js";
import { buildOrderingApp } from "../src/http/app.js";
import { migratedDatabase, silentLogger } from "./support/database.js";

let database: Awaited<ReturnType<typeof migratedDatabase>>;
const apps: HttpApp[] = [];

beforeAll(async () => {
  database = await migratedDatabase("ordering_rate_limit");
});
afterEach(async () => {
  vi.useRealTimers();
  await Promise.all(apps.splice(0).map((app) => app.close()));
});
afterAll(async () => database?.close());

async function orderingApp(rateLimitPerMinute: number): Promise<HttpApp> {
  const app = await buildOrderingApp({
    logger: silentLogger(),
    readiness: async () => ({ ready: true, checks: {} }),
    uow: createUnitOfWork({
      db: database.db,
      // No relay runs here: nothing publishes the outbox rows.
      unitOfWork: createKitUnitOfWork({ service: "ordering", db: database.db, handOff: () => {} }),
      announce: () => {},
    }),
    handlers: { clock: { now: () => new Date() }, newId: () => crypto.randomUUID() },
    waiters: createOrderWaiters({ max: 10 }),
    rateLimitPerMinute,
  });
  apps.push(app);
  return app;
}

const getCustomer = (app: HttpApp, remoteAddress = "10.0.0.1") =>
  app.inject({ method: "GET", url: "/customers/nobody", remoteAddress });

describe("the storefront rate limit", () => {
  it("answers 429 with Retry-After beyond the limit and lets the client in again next minute", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(1_000_000);
    const app = await orderingApp(2);
    expect((await getCustomer(app)).statusCode).toBe(404);
    expect((await getCustomer(app)).statusCode).toBe(404);
    vi.setSystemTime(1_015_000);
    const refused = await getCustomer(app);
    expect(refused.statusCode).toBe(429);
    expect(refused.headers["retry-after"]).toBe("45");
    expect(refused.json()).toEqual({ error: "too_many_requests", message: expect.any(String) });
    vi.setSystemTime(1_060_000);
    expect((await getCustomer(app)).statusCode).toBe(404);
  });

  it("counts every storefront route of one client address together, and each address apart", async () => {
    const app = await orderingApp(2);
    expect((await getCustomer(app)).statusCode).toBe(404);
    expect(
      (await app.inject({ method: "GET", url: "/orders/none", remoteAddress: "10.0.0.1" })).statusCode,
    ).toBe(404);
    const post = await app.inject({ method: "POST", url: "/orders", payload: {}, remoteAddress: "10.0.0.1" });
    expect(post.statusCode).toBe(429);
    expect((await getCustomer(app, "10.0.0.2")).statusCode).toBe(404);
  });

  it("leaves the probes outside the storefront scope alone", async () => {
    const app = await orderingApp(1);
    await getCustomer(app);
    expect((await getCustomer(app)).statusCode).toBe(429);
    expect((await app.inject({ method: "GET", url: "/healthz", remoteAddress: "10.0.0.1" })).statusCode).toBe(
      200,
    );
  });

  it("is off at 0", async () => {
    const app = await orderingApp(0);
    for (let i = 0; i < 5; i++) expect((await getCustomer(app)).statusCode).toBe(404);
  });
});
