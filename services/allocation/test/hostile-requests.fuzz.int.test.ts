import type { HttpApp } from "@stockflow/service-kit";
import {
  type HostileRequest,
  hostileHeaders,
  hostilePathSegment,
  hostileQuery,
  json,
  metacharacters,
  expectRefused as refused,
} from "@stockflow/testkit/hostile-requests";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { unitOfWorkFactory } from "../src/adapters/db/unit-of-work.js";
import { createViews } from "../src/adapters/db/views.js";
import * as handlers from "../src/app/handlers.js";
import { systemClock } from "../src/app/ports.js";
import { buildApp } from "../src/http/app.js";
import { kitUnitOfWork, migratedTestDatabase, quietLogger } from "./support.js";

// Property-based fuzzing of allocation's read API through the real app on a real database.
// The API has no writes, so every request that does not name a known product or order is
// invalid: the generators never name the seeded ones. Each must be answered 4xx with the
// standard error body within a deadline, and no table (outbox included) may change.

let database: Awaited<ReturnType<typeof migratedTestDatabase>>;
let app: HttpApp;
const KNOWN = new Set(["DESK", "BED", "order-1", "order-2"]);
const REQUEST_DEADLINE_MS = 5_000;

beforeAll(async () => {
  database = await migratedTestDatabase("allocation_fuzz");
  const unitOfWork = unitOfWorkFactory({ clock: systemClock, unitOfWork: kitUnitOfWork(database.db) });
  await database.db.transaction((tx) =>
    handlers.registerBatch(unitOfWork(tx), { reference: "b-home", sku: "DESK", qty: 5, eta: null }),
  );
  await database.db.transaction((tx) =>
    handlers.allocate(unitOfWork(tx), {
      orderId: "order-1",
      customerId: "c",
      lines: [
        { sku: "DESK", qty: 4 },
        { sku: "BED", qty: 1 },
      ],
      placedAt: "2030-01-01T00:00:00Z",
    }),
  );
  app = await buildApp({
    logger: quietLogger(),
    readiness: async () => ({ ready: true, checks: {} }),
    views: createViews(database.db),
  });
  await app.ready();
});
afterAll(async () => {
  await app?.close();
  await database?.close();
});

async function state() {
  const [rows] = await database.sql`
    select (select count(*) from products)::int as products, (select count(*) from batches)::int as batches,
           (select count(*) from allocations)::int as allocations,
           (select count(*) from backorders)::int as backorders,
           (select count(*) from outbox)::int as outbox, (select count(*) from inbox)::int as inbox,
           (select coalesce(sum(version), 0)::int from products) as versions`;
  return rows;
}

const expectRefused = (request: HostileRequest) =>
  refused((r) => app.inject(r), request, REQUEST_DEADLINE_MS);

const probes = metacharacters("'; drop table products; --", "DESK' OR '1'='1", "DESK%", "_");
/** A path segment as sent on the wire; never one naming a seeded product or order. */
const pathSegment = hostilePathSegment({
  probes,
  more: ["%2e%2e", "1e308", "-0", "NaN", "DESK%00"],
  known: [...KNOWN],
});
const querySuffix = hostileQuery("?sku=%00");
const extraHeaders = hostileHeaders(probes, ["if-none-match"]);
const hostileBody = fc.oneof(
  fc.anything().map(json),
  fc.json(),
  fc.string({ unit: "binary", maxLength: 200 }),
  fc.constantFrom(
    '{"__proto__":{"admin":true}}',
    '{"constructor":{"prototype":{"admin":true}}}',
    '{"sku":"DESK","batches":[{"reference":"b-home","qty":1e308}]}',
    '{"qty":-0,"version":9007199254740993}',
    `${"[".repeat(20_000)}${"]".repeat(20_000)}`,
  ),
);

describe("hostile requests to the allocation read API", () => {
  it("GET with hostile path parameters, query strings and headers gets only 4xx answers and changes nothing", async () => {
    const before = await state();
    const route = fc.constantFrom(
      (p: string) => `/products/${p}`,
      (p: string) => `/allocations/${p}`,
    );
    await fc.assert(
      fc.asyncProperty(route, pathSegment, querySuffix, extraHeaders, async (to, segment, query, headers) => {
        await expectRefused({ method: "GET", url: `${to(segment)}${query}`, headers });
      }),
      { numRuns: 2_500 },
    );
    expect(await state()).toEqual(before);
  });

  it("writes of any kind with hostile bodies get only 4xx answers and change nothing", async () => {
    const before = await state();
    const method = fc.constantFrom("POST" as const, "PUT" as const, "PATCH" as const, "DELETE" as const);
    const url = fc.constantFrom(
      "/products/DESK",
      "/products",
      "/allocations/order-1",
      "/allocations",
      "/batches",
    );
    const contentType = fc.constantFrom(
      "application/json",
      "text/plain",
      "application/x-www-form-urlencoded",
    );
    await fc.assert(
      fc.asyncProperty(method, url, contentType, hostileBody, async (m, u, type, payload) => {
        await expectRefused({ method: m, url: u, headers: { "content-type": type }, payload });
      }),
      { numRuns: 1_000 },
    );
    expect(await state()).toEqual(before);
    const desk = await app.inject({ method: "GET", url: "/products/DESK" });
    expect(desk.json().batches).toEqual([{ reference: "b-home", qty: 5, available: 1, eta: null }]);
  });
});
