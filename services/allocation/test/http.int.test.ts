import type { HttpApp } from "@stockflow/service-kit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { unitOfWorkFactory } from "../src/adapters/db/unit-of-work.js";
import { createViews } from "../src/adapters/db/views.js";
import * as handlers from "../src/app/handlers.js";
import { systemClock } from "../src/app/ports.js";
import { buildApp } from "../src/http/app.js";
import { kitUnitOfWork, migratedTestDatabase, quietLogger } from "./support.js";

let database: Awaited<ReturnType<typeof migratedTestDatabase>>;
let app: HttpApp;

beforeAll(async () => {
  database = await migratedTestDatabase("allocation_http");
  const unitOfWork = unitOfWorkFactory({ clock: systemClock, unitOfWork: kitUnitOfWork(database.db) });
  const given = <E>(handler: (uow: ReturnType<typeof unitOfWork>, e: E) => Promise<void>, event: E) =>
    database.db.transaction((tx) => handler(unitOfWork(tx), event));
  await given(handlers.registerBatch, { reference: "b-ship", sku: "DESK", qty: 10, eta: "2030-05-01" });
  await given(handlers.registerBatch, { reference: "b-home", sku: "DESK", qty: 5, eta: null });
  await given(handlers.allocate, {
    orderId: "order-1",
    customerId: "c",
    lines: [
      { sku: "DESK", qty: 4 },
      { sku: "BED", qty: 1 },
    ],
    placedAt: "2030-01-01T00:00:00Z",
  });
  await given(handlers.allocate, {
    orderId: "order-2",
    customerId: "c",
    lines: [{ sku: "DESK", qty: 20 }],
    placedAt: "2030-01-01T00:00:00Z",
  });
  app = await buildApp({
    logger: quietLogger(),
    readiness: async () => ({ ready: true, checks: {} }),
    views: createViews(database.db),
  });
});

afterAll(async () => {
  await app?.close();
  await database?.close();
});

describe("the read API", () => {
  it("answers the lines of an order allocated now", async () => {
    const res = await app.inject({ method: "GET", url: "/allocations/order-1" });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual([{ sku: "DESK", batchref: "b-home", qty: 4 }]);
  });

  it("answers 404 not_found for an order with no allocated line", async () => {
    for (const orderId of ["order-2", "never-placed"]) {
      const res = await app.inject({ method: "GET", url: `/allocations/${orderId}` });
      expect(res.statusCode).toBe(404);
      expect(res.json()).toMatchObject({ error: "not_found", message: expect.any(String) });
    }
  });

  it("answers a product with its batches in preference order and its backorders", async () => {
    const res = await app.inject({ method: "GET", url: "/products/DESK" });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      sku: "DESK",
      version: 4,
      batches: [
        { reference: "b-home", qty: 5, available: 1, eta: null },
        { reference: "b-ship", qty: 10, available: 10, eta: "2030-05-01" },
      ],
      backorders: [{ orderId: "order-2", qty: 20 }],
    });
  });

  it("answers a product known only from its backorders", async () => {
    const res = await app.inject({ method: "GET", url: "/products/BED" });
    expect(res.json()).toEqual({
      sku: "BED",
      version: 1,
      batches: [],
      backorders: [{ orderId: "order-1", qty: 1 }],
    });
  });

  it("answers 404 not_found for an unknown SKU", async () => {
    const res = await app.inject({ method: "GET", url: "/products/NOPE" });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ error: "not_found" });
  });

  it("refuses an absurdly long identifier with a client error", async () => {
    const res = await app.inject({ method: "GET", url: `/products/${"x".repeat(201)}` });
    expect(res.statusCode).toBeGreaterThanOrEqual(400);
    expect(res.statusCode).toBeLessThan(500);
    expect(res.json()).toMatchObject({ error: expect.any(String), message: expect.any(String) });
  });

  it("serves health and documents both routes", async () => {
    expect((await app.inject({ method: "GET", url: "/healthz" })).statusCode).toBe(200);
    const doc = (await app.inject({ method: "GET", url: "/docs/json" })).json();
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(["/allocations/{orderId}", "/products/{sku}"]),
    );
  });
});
