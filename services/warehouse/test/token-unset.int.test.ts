import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, STAFF_TOKEN, startHarness } from "./harness.js";

let h: Harness;

beforeAll(async () => {
  // An empty WAREHOUSE_STAFF_TOKEN is as good as unset.
  h = await startHarness("warehouse_no_token", { WAREHOUSE_STAFF_TOKEN: "" });
});
afterAll(async () => h?.close());

describe("without WAREHOUSE_STAFF_TOKEN", () => {
  it.each([
    ["no token", undefined],
    ["some token", `Bearer ${STAFF_TOKEN}`],
    ["an empty bearer", "Bearer "],
  ])("every write is refused with 401, given %s", async (_what, authorization) => {
    const headers = authorization ? { authorization } : {};
    const writes = [
      { url: "/batches", payload: { reference: "b1", sku: "X", qty: 1, eta: null } },
      { url: "/batches/b1/damage", payload: { qty: 1 } },
      { url: "/batches/b1/delay", payload: { eta: "2031-01-01" } },
    ];
    for (const { url, payload } of writes) {
      const res = await h.service.app.inject({ method: "POST", url, payload, headers });
      expect(res.statusCode).toBe(401);
      expect(res.json()).toEqual({ error: "unauthorized", message: expect.any(String) });
    }
    expect((await h.service.app.inject({ method: "GET", url: "/batches/b1" })).statusCode).toBe(404);
  });

  it("reads still answer", async () => {
    expect((await h.service.app.inject({ method: "GET", url: "/dispatches?orderId=o1" })).json()).toEqual([]);
  });
});
