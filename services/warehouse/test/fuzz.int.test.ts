import fc from "fast-check";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, STAFF_TOKEN, startHarness } from "./harness.js";

let h: Harness;
const headers = { authorization: `Bearer ${STAFF_TOKEN}`, "content-type": "application/json" };

beforeAll(async () => {
  h = await startHarness("warehouse_fuzz");
  const res = await h.service.app.inject({
    method: "POST",
    url: "/batches",
    headers,
    payload: { reference: "fuzz-batch", sku: "LAMP", qty: 10, eta: "2030-01-10" },
  });
  expect(res.statusCode).toBe(201);
});
afterAll(async () => h?.close());

async function rowCounts(): Promise<{ batches: number; events: number }> {
  const sql = postgres(h.db.url, { max: 1 });
  try {
    const [row] = await sql<{ batches: number; events: number }[]>`
      select (select count(*)::int from batches) as batches, (select count(*)::int from outbox) as events`;
    return row!;
  } finally {
    await sql.end();
  }
}

const batch = async () => (await h.service.app.inject({ method: "GET", url: "/batches/fuzz-batch" })).json();

// Bodies that are almost right: the right field names with values of any type.
const nearMiss = fc.record(
  {
    reference: fc.oneof(fc.string(), fc.constant("'; drop table batches; --"), fc.anything()),
    sku: fc.oneof(fc.string({ unit: "grapheme" }), fc.anything()),
    qty: fc.oneof(fc.integer({ max: 0 }), fc.double(), fc.constant(2 ** 53), fc.string(), fc.anything()),
    eta: fc.oneof(fc.string(), fc.constant("2030-02-31"), fc.anything()),
    reason: fc.anything(),
    extra: fc.anything(),
  },
  { requiredKeys: ["qty", "extra"] },
);
const body = fc.oneof(fc.anything(), fc.json(), nearMiss);

describe("malformed staff requests", () => {
  it.each(["/batches", "/batches/fuzz-batch/damage", "/batches/fuzz-batch/delay"])(
    "to %s only ever get a 4xx answer and change nothing",
    async (url) => {
      const before = await batch();
      await fc.assert(
        fc.asyncProperty(body, async (payload) => {
          const res = await h.service.app.inject({
            method: "POST",
            url,
            headers,
            payload: typeof payload === "string" ? payload : JSON.stringify(payload),
          });
          expect(res.statusCode, res.body).toBeGreaterThanOrEqual(400);
          expect(res.statusCode, res.body).toBeLessThan(500);
          expect(res.json()).toEqual({ error: expect.any(String), message: expect.any(String) });
        }),
        { numRuns: 150 },
      );
      expect(await batch()).toEqual(before);
      expect(await rowCounts()).toEqual({ batches: 1, events: 1 });
    },
  );
});
