import { jetstreamManager } from "@nats-io/jetstream";
import { waitFor } from "@stockflow/testkit";
import {
  type HostileRequest,
  hostileHeaders,
  hostilePathSegment,
  hostileQuery,
  isWellFormed,
  json,
  longText as longerThan,
  metacharacters as probing,
  expectRefused as refused,
  unstorable,
  withUnstorable,
} from "@stockflow/testkit/hostile-requests";
import fc from "fast-check";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startOrdering } from "./support/service.js";

// Property-based fuzzing of the storefront API through the real app (real PostgreSQL, real
// JetStream): every generated request is invalid by construction (or classified and
// skipped when a generator happens to produce a valid one), must be answered 4xx with the
// standard error body, within a deadline, and must change nothing. Nothing reaches the bus
// except through the outbox (the relay publishes outbox rows only), so an unchanged outbox
// means nothing was published; the ORDERING stream's message count is checked as well.

let ordering: Awaited<ReturnType<typeof startOrdering>>;
let sql: postgres.Sql;
let seededOrderId: string;
const SEED_KEY = "seed-idempotency-key";
const REQUEST_DEADLINE_MS = 5_000;

beforeAll(async () => {
  ordering = await startOrdering("ordering_fuzz");
  sql = postgres(ordering.dbUrl, { max: 1, onnotice: () => {} });
  const seeded = await ordering.app.inject({
    method: "POST",
    url: "/orders",
    headers: { "idempotency-key": SEED_KEY },
    payload: { customerId: "seed-customer", lines: [{ sku: "SEED-SKU", qty: 1 }] },
  });
  expect(seeded.statusCode).toBe(202);
  seededOrderId = seeded.json().orderId;
  await waitFor(async () => (await streamMessages()) === 1, { message: "the seeded order on the bus" });
});
afterAll(async () => {
  await sql?.end();
  await ordering?.close();
});

async function streamMessages(): Promise<number> {
  const jsm = await jetstreamManager(ordering.nc);
  return (await jsm.streams.info("ORDERING")).state.messages;
}

async function state() {
  const [rows] = await sql`
    select (select count(*) from orders)::int as orders, (select count(*) from order_lines)::int as lines,
           (select count(*) from customers)::int as customers,
           (select count(*) from idempotency_keys)::int as keys,
           (select count(*) from outbox)::int as outbox, (select count(*) from inbox)::int as inbox`;
  return { ...rows, stream: await streamMessages() };
}

const expectRefused = (request: HostileRequest) =>
  refused((r) => ordering.app.inject(r), request, REQUEST_DEADLINE_MS);

/** The contract's valid order (docs/system-contract.md), to classify what a generator produced. */
function isValidOrder(body: unknown): boolean {
  const isId = (s: unknown) =>
    typeof s === "string" &&
    [...s].length >= 1 &&
    [...s].length <= 200 &&
    !s.includes("\u0000") &&
    isWellFormed(s);
  if (typeof body !== "object" || body === null || Array.isArray(body)) return false;
  const { customerId, lines, ...rest } = body as Record<string, unknown>;
  if (Object.keys(rest).length > 0 || !isId(customerId) || !Array.isArray(lines)) return false;
  if (lines.length < 1 || lines.length > 100) return false;
  const skus = new Set<unknown>();
  for (const line of lines) {
    if (typeof line !== "object" || line === null || Array.isArray(line)) return false;
    const { sku, qty, ...more } = line as Record<string, unknown>;
    if (Object.keys(more).length > 0 || !isId(sku) || skus.has(sku)) return false;
    if (typeof qty !== "number" || !Number.isInteger(qty) || qty < 1 || qty > 10_000) return false;
    skus.add(sku);
  }
  return true;
}

function parsesAsValidOrder(text: string): boolean {
  try {
    return isValidOrder(JSON.parse(text));
  } catch {
    return false;
  }
}

// ---- arbitraries: raw JSON text fragments, so -0, 1e308 and 2**53+1 reach the server as written

const validId = fc.string({ minLength: 1, maxLength: 24 }).map(json);
const longText = longerThan(201);
// "$" + "{7*7}": a template-injection probe, kept out of a template literal.
const metacharacters = probing("'; drop table orders; --", "\\", "$" + "{7*7}", "%s%n");
const wrongType = fc.oneof(
  fc.integer().map(json),
  fc.double().map(json),
  fc.boolean().map(json),
  fc.constant("null"),
  fc.constantFrom("[]", "{}", '["x"]', '{"__proto__": {"admin": true}}', "1e308", "-0"),
  fc.array(fc.anything(), { maxLength: 3 }).map(json),
);
/** A value that no id field accepts: empty, over 200 characters, unstorable text, or not a string. */
const invalidId = fc.oneof(fc.constant('""'), longText.map(json), withUnstorable.map(json), wrongType);
const invalidQty = fc.oneof(
  fc.constantFrom(
    "0",
    "-0",
    "-1",
    "0.5",
    "1.5",
    "10001",
    "1e308",
    "-1e308",
    "1e400",
    "9007199254740993",
    "-9007199254740993",
    '"1"',
    '"NaN"',
    '"Infinity"',
    "NaN",
    "Infinity",
    "01",
    "+1",
    "0x10",
    "null",
    "true",
    "[]",
    "[1]",
    "{}",
  ),
  fc.integer({ max: 0 }).map(String),
  fc.integer({ min: 10_001 }).map(String),
  fc.double({ noInteger: true, noNaN: true, noDefaultInfinity: true }).map(String),
);
const hostileKey = fc.oneof(
  fc.constantFrom("__proto__", "constructor", "prototype", "isAdmin", "", "customerID", "lines ", "$where"),
  metacharacters,
  unstorable,
);
const deepNesting = fc
  .integer({ min: 50, max: 20_000 })
  .chain((depth) =>
    fc.constantFrom(
      `${"[".repeat(depth)}${"]".repeat(depth)}`,
      `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`,
    ),
  );

const line = (sku: string, qty = "1") => `{"sku":${sku},"qty":${qty}}`;
const order = (customerId: string, lines: string) => `{"customerId":${customerId},"lines":${lines}}`;
const validLines = fc
  .uniqueArray(fc.string({ minLength: 1, maxLength: 12 }), { minLength: 1, maxLength: 5 })
  .map((skus) => `[${skus.map((s) => line(json(s), "2")).join(",")}]`);

/** POST /orders bodies, each wrong in at least one way. */
const hostileOrderBody: fc.Arbitrary<string> = fc
  .oneof(
    fc.tuple(invalidId, validLines).map(([c, l]) => order(c, l)),
    fc.tuple(validId, invalidId).map(([c, sku]) => order(c, `[${line(sku)}]`)),
    fc.tuple(validId, validId, invalidQty).map(([c, sku, qty]) => order(c, `[${line(sku, qty)}]`)),
    fc.tuple(validId, validId).map(([c, sku]) => order(c, `[${line(sku)},${line(sku, "3")}]`)),
    fc
      .tuple(validId, fc.constantFrom("[]", "{}", "null", '"lines"', "1", `[${"[]".repeat(3)}]`))
      .map(([c, l]) => order(c, l)),
    fc
      .tuple(validId, fc.integer({ min: 101, max: 300 }))
      .map(([c, n]) =>
        order(c, `[${Array.from({ length: n }, (_, i) => line(json(`SKU-${i}`))).join(",")}]`),
      ),
    fc
      .tuple(validId, validId, hostileKey, fc.anything())
      .map(
        ([c, sku, key, value]) => `{"customerId":${c},"lines":[${line(sku)}],${json(key)}:${json(value)}}`,
      ),
    fc
      .tuple(validId, validId, hostileKey)
      .map(
        ([c, sku, key]) =>
          `{"customerId":${c},"lines":[{"sku":${sku},"qty":1,${json(key)}:{"polluted":true}}]}`,
      ),
    fc.tuple(validId, deepNesting).map(([c, deep]) => order(c, deep)),
    fc.tuple(validId, deepNesting).map(([c, deep]) => order(c, `[${line(deep)}]`)),
    fc.constantFrom(
      `{"constructor":{"prototype":{"admin":true}},"customerId":"c","lines":[{"sku":"S","qty":1}]}`,
      `{"customerId":"c"}`,
      `{"lines":[{"sku":"S","qty":1}]}`,
      `[{"customerId":"c","lines":[{"sku":"S","qty":1}]}]`,
      `{"customerId":"c","lines":[{"sku":"S","qty":1}]`,
      `{"customerId":"c","lines":[{"sku":"S","qty":1}]}}`,
      "",
      "\u0000",
      "null",
    ),
    fc.anything().map(json),
    fc.json(),
    fc.string({ unit: "binary", maxLength: 200 }),
  )
  .filter((text) => !parsesAsValidOrder(text));

const extraHeaders = hostileHeaders(metacharacters, ["cookie"]);
const invalidIdempotencyKey = fc.oneof(fc.constant(""), longText, withUnstorable);

/** A path segment as sent on the wire: percent-encoded text, or hostile raw encodings. */
const pathSegment = hostilePathSegment({
  probes: metacharacters,
  more: ["a%00b", "%2e%2e", "1e308", "-0", "NaN", "%27%20OR%201%3D1--"],
});
const querySuffix = hostileQuery();

describe("hostile storefront requests", () => {
  it("POST /orders with malformed and hostile bodies gets only 4xx answers and changes nothing", async () => {
    const before = await state();
    await fc.assert(
      fc.asyncProperty(hostileOrderBody, extraHeaders, async (payload, headers) => {
        await expectRefused({
          method: "POST",
          url: "/orders",
          headers: { ...headers, "content-type": "application/json" },
          payload,
        });
      }),
      { numRuns: 2_000 },
    );
    expect(await state()).toEqual(before);
  });

  it("POST /orders with a valid body but hostile headers gets only 4xx answers and changes nothing", async () => {
    const before = await state();
    const contentType = fc.constantFrom(
      "text/plain",
      "application/xml",
      "multipart/form-data",
      "application/x-www-form-urlencoded",
    );
    const validBody = fc
      .tuple(validId, validLines)
      .map(([c, l]) => order(c, l))
      .filter(parsesAsValidOrder);
    const hostileHeaders = fc.oneof(
      invalidIdempotencyKey.map(
        (key): Record<string, string> => ({ "content-type": "application/json", "idempotency-key": key }),
      ),
      contentType.map((type): Record<string, string> => ({ "content-type": type })),
      // The seeded order's key with another body: 409 idempotency_key_reused, no second order.
      fc.constant<Record<string, string>>({
        "content-type": "application/json",
        "idempotency-key": SEED_KEY,
      }),
    );
    await fc.assert(
      fc.asyncProperty(validBody, hostileHeaders, async (payload, headers) => {
        await expectRefused({ method: "POST", url: "/orders", headers, payload });
      }),
      { numRuns: 600 },
    );
    expect(await state()).toEqual(before);
  });

  it("order and customer routes with hostile path parameters get only 4xx answers and change nothing", async () => {
    const before = await state();
    const route = fc.constantFrom(
      (id: string) => ({ method: "GET" as const, url: `/orders/${id}` }),
      (id: string) => ({ method: "GET" as const, url: `/customers/${id}` }),
      (id: string) => ({ method: "POST" as const, url: `/orders/${id}/cancel` }),
    );
    await fc.assert(
      fc.asyncProperty(route, pathSegment, querySuffix, extraHeaders, async (to, segment, query, headers) => {
        const target = to(segment);
        // Only the seeded order exists, and a random segment never names it: every cancel is a 404 or 400.
        await expectRefused({ ...target, url: `${target.url}${query}`, headers });
      }),
      { numRuns: 1_000 },
    );
    expect(await state()).toEqual(before);
  });

  it("cancelling the existing order with any body is refused and changes nothing", async () => {
    const before = await state();
    const body = fc
      .oneof(hostileOrderBody, fc.dictionary(hostileKey, fc.anything(), { minKeys: 1 }).map(json))
      .filter((text) => text.trim() !== "" && text.trim() !== "{}");
    await fc.assert(
      fc.asyncProperty(body, async (payload) => {
        await expectRefused({
          method: "POST",
          url: `/orders/${seededOrderId}/cancel`,
          headers: { "content-type": "application/json" },
          payload,
        });
      }),
      { numRuns: 400 },
    );
    expect(await state()).toEqual(before);
    const seeded = await ordering.app.inject({ method: "GET", url: `/orders/${seededOrderId}` });
    expect(seeded.json().status).toBe("pending");
  });
});
