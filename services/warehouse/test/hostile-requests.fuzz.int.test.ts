import {
  type HostileRequest,
  hostilePathSegment,
  isWellFormed,
  json,
  longText as longerThan,
  metacharacters as probing,
  expectRefused as refused,
  withUnstorable,
} from "@stockflow/testkit/hostile-requests";
import fc from "fast-check";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, STAFF_TOKEN, startHarness } from "./harness.js";

// Complements fuzz.int.test.ts (near-miss bodies) with what it leaves out: hostile path
// parameters, query strings and headers, lone surrogates and NUL, huge numbers written as
// JSON text, a per-request deadline and a few thousand cases. Every generated request is
// invalid by construction (a valid body is sent only with a broken token, an unknown batch
// or a wrong field); each must be answered 4xx with the standard error body and change nothing.

let h: Harness;
let sql: postgres.Sql;
const auth = { authorization: `Bearer ${STAFF_TOKEN}`, "content-type": "application/json" };
const REQUEST_DEADLINE_MS = 5_000;

beforeAll(async () => {
  h = await startHarness("warehouse_hostile");
  sql = postgres(h.db.url, { max: 1, onnotice: () => {} });
  const res = await h.service.app.inject({
    method: "POST",
    url: "/batches",
    headers: auth,
    payload: { reference: "fuzz-batch", sku: "LAMP", qty: 10, eta: "2030-01-10" },
  });
  expect(res.statusCode).toBe(201);
});
afterAll(async () => {
  await sql?.end();
  await h?.close();
});

async function state() {
  const [rows] = await sql`
    select (select count(*) from batches)::int as batches,
           (select count(*) from dispatch_instructions)::int as dispatches,
           (select count(*) from outbox)::int as outbox, (select count(*) from inbox)::int as inbox`;
  const batch = (await h.service.app.inject({ method: "GET", url: "/batches/fuzz-batch" })).json();
  return { ...rows, batch };
}

const expectRefused = (request: HostileRequest) =>
  refused((r) => h.service.app.inject(r), request, REQUEST_DEADLINE_MS);

const longText = longerThan(501);
const metacharacters = probing("'; drop table batches; --", "fuzz-batch' OR '1'='1");
const wrongType = fc.oneof(
  fc.integer().map(json),
  fc.boolean().map(json),
  fc.constant("null"),
  fc.constantFrom("[]", "{}", '["x"]', '{"__proto__": {"admin": true}}'),
  fc.array(fc.anything(), { maxLength: 3 }).map(json),
);
const invalidName = fc.oneof(
  fc.constantFrom('""', '" padded"', '"padded "', '"tab\\there"', '"bell\\u0007"'),
  longText.map(json),
  withUnstorable.map(json),
  wrongType,
);
const invalidQty = fc.oneof(
  fc.constantFrom(
    "0",
    "-0",
    "-1",
    "0.5",
    "1.5",
    "1e308",
    "-1e308",
    "1e400",
    "9007199254740993",
    "1000000001",
    '"1"',
    '"NaN"',
    "NaN",
    "Infinity",
    "01",
    "null",
    "true",
    "[]",
    "{}",
  ),
  fc.integer({ max: 0 }).map(String),
  fc.double({ noInteger: true, noNaN: true, noDefaultInfinity: true }).map(String),
);
const invalidEta = fc.oneof(
  fc.constantFrom(
    '"2030-02-31"',
    '"2030-13-01"',
    '"2030-1-1"',
    '"2030-01-01T00:00:00Z"',
    '"9999-99-99"',
    '""',
    "20300101",
    '"tomorrow"',
    '"2030-01-01\\u0000"',
  ),
  wrongType.filter((t) => t !== "null"),
);
const invalidReason = fc.oneof(fc.constant('""'), longText.map(json), withUnstorable.map(json), wrongType);
const hostileKey = fc.oneof(
  fc.constantFrom("__proto__", "constructor", "prototype", "isAdmin", "", "Reference", "$where"),
  metacharacters,
);
const deepNesting = fc
  .integer({ min: 50, max: 20_000 })
  .map((depth) => `${"[".repeat(depth)}${"]".repeat(depth)}`);

const name = fc.string({ minLength: 1, maxLength: 12 }).map((s) => json(`fz-${s.trim()}x`));
const register = (reference: string, sku: string, qty: string, eta: string, extra = "") =>
  `{"reference":${reference},"sku":${sku},"qty":${qty},"eta":${eta}${extra}}`;

/** POST /batches bodies that are wrong in at least one field. */
const hostileRegistration = fc.oneof(
  fc.tuple(invalidName, name).map(([r, s]) => register(r, s, "1", "null")),
  fc.tuple(name, invalidName).map(([r, s]) => register(r, s, "1", "null")),
  fc.tuple(name, name, invalidQty).map(([r, s, q]) => register(r, s, q, "null")),
  fc.tuple(name, name, invalidEta).map(([r, s, e]) => register(r, s, "1", e)),
  fc
    .tuple(name, name, hostileKey, fc.anything())
    .map(([r, s, k, v]) => register(r, s, "1", "null", `,${json(k)}:${json(v)}`)),
  fc.tuple(name, deepNesting).map(([r, deep]) => register(r, deep, "1", "null")),
  // The seeded reference again: 409 batch_exists.
  name.map((s) => register('"fuzz-batch"', s, "1", "null")),
  fc.constantFrom(
    '{"constructor":{"prototype":{"admin":true}},"reference":"r","sku":"s","qty":1,"eta":null}',
    '{"reference":"r","sku":"s","qty":1}',
    '[{"reference":"r","sku":"s","qty":1,"eta":null}]',
    '{"reference":"r","sku":"s","qty":1,"eta":null',
    "",
  ),
);
/** Damage bodies for the seeded batch that are wrong (or ask for more than it holds: 422). */
const hostileDamage = fc.oneof(
  invalidQty.map((q) => `{"qty":${q}}`),
  invalidReason.map((r) => `{"qty":1,"reason":${r}}`),
  fc.integer({ min: 11, max: 1_000_000_000 }).map((q) => `{"qty":${q},"reason":"too much"}`),
  fc.tuple(hostileKey, fc.anything()).map(([k, v]) => `{"qty":1,${json(k)}:${json(v)}}`),
  deepNesting.map((deep) => `{"qty":1,"reason":${deep}}`),
  fc.anything().map(json),
);
const hostileDelay = fc.oneof(
  invalidEta.map((e) => `{"eta":${e}}`),
  fc.tuple(hostileKey, fc.anything()).map(([k, v]) => `{"eta":"2031-01-01",${json(k)}:${json(v)}}`),
  deepNesting.map((deep) => `{"eta":${deep}}`),
  fc.anything().map(json),
);

/** A path segment as sent on the wire; never one naming the seeded batch. */
const pathSegment = hostilePathSegment({
  probes: metacharacters,
  minLongText: 501,
  more: ["fuzz-batch%00"],
  known: ["fuzz-batch"],
});
/** Query strings that give `name` no valid value: missing, empty, NUL, repeated, miscased, over-long. */
const invalidQuery = (name: string) =>
  fc.oneof(
    fc.constantFrom(
      "",
      "?",
      `?${name}=`,
      `?${name}=%00`,
      `?${name}=a%00b`,
      `?${name}=a&${name}=b`,
      ...[name.toLowerCase(), name.toUpperCase()].filter((n) => n !== name).map((n) => `?${n}=a`),
    ),
    fc.constantFrom(`?__proto__[${name}]=1`, "?constructor[prototype][x]=1"),
    longText.filter((s) => isWellFormed(s)).map((s) => `?${name}=${encodeURIComponent(s)}`),
  );
const invalidOrderIdQuery = invalidQuery("orderId");
const invalidSkuQuery = invalidQuery("sku");
const hostileAuthorization = fc.oneof(
  fc.constantFrom(
    "",
    "Bearer",
    "Bearer ",
    `Basic ${STAFF_TOKEN}`,
    `Bearer ${STAFF_TOKEN}x`,
    `Bearer ${STAFF_TOKEN.slice(1)}`,
  ),
  fc.constantFrom(
    `Bearer ${STAFF_TOKEN}\u0000`,
    `Bearer ${STAFF_TOKEN} extra`,
    `Bearer ${"x".repeat(10_000)}`,
  ),
  fc.string({ maxLength: 60 }).map((s) => `Bearer ${s}`),
);

describe("hostile staff requests", () => {
  it("POST /batches, damage and delay with hostile bodies get only 4xx answers and change nothing", async () => {
    const before = await state();
    const request = fc.oneof(
      hostileRegistration.map((payload) => ({ url: "/batches", payload })),
      hostileDamage.map((payload) => ({ url: "/batches/fuzz-batch/damage", payload })),
      hostileDelay.map((payload) => ({ url: "/batches/fuzz-batch/delay", payload })),
    );
    await fc.assert(
      fc.asyncProperty(request, async ({ url, payload }) => {
        await expectRefused({ method: "POST", url, headers: auth, payload });
      }),
      { numRuns: 2_000 },
    );
    expect(await state()).toEqual(before);
  });

  it("batch routes with hostile path parameters, dispatches and batches with hostile queries get only 4xx answers", async () => {
    const before = await state();
    const request = fc.oneof(
      pathSegment.map((p) => ({ method: "GET" as const, url: `/batches/${p}` })),
      pathSegment.map((p) => ({
        method: "POST" as const,
        url: `/batches/${p}/damage`,
        payload: '{"qty":1}',
      })),
      pathSegment.map((p) => ({
        method: "POST" as const,
        url: `/batches/${p}/delay`,
        payload: '{"eta":"2031-01-01"}',
      })),
      invalidOrderIdQuery.map((q) => ({ method: "GET" as const, url: `/dispatches${q}` })),
      invalidSkuQuery.map((q) => ({ method: "GET" as const, url: `/batches${q}` })),
    );
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        await expectRefused({ ...r, headers: auth });
      }),
      { numRuns: 1_000 },
    );
    expect(await state()).toEqual(before);
  });

  it("valid staff writes under a hostile Authorization header are refused 401 and change nothing", async () => {
    const before = await state();
    const write = fc.constantFrom(
      { url: "/batches", payload: '{"reference":"fz-new","sku":"LAMP","qty":1,"eta":null}' },
      { url: "/batches/fuzz-batch/damage", payload: '{"qty":1,"reason":"dropped"}' },
      { url: "/batches/fuzz-batch/delay", payload: '{"eta":"2031-01-01"}' },
    );
    await fc.assert(
      fc.asyncProperty(write, hostileAuthorization, async ({ url, payload }, authorization) => {
        await expectRefused({
          method: "POST",
          url,
          headers: { authorization, "content-type": "application/json" },
          payload,
        });
      }),
      { numRuns: 500 },
    );
    expect(await state()).toEqual(before);
  });
});
