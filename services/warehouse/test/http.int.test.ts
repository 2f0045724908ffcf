import { collectSpans, waitFor } from "@stockflow/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tokenFingerprint } from "../src/http/staff-auth.js";
import { type Harness, recorder, type Seen, STAFF_TOKEN, startHarness } from "./harness.js";

const spans = collectSpans();
let h: Harness;
let published: Seen[];
let refCounter = 0;
const newRef = () => `B-${++refCounter}-${Date.now()}`;
const auth = { authorization: `Bearer ${STAFF_TOKEN}` };

beforeAll(async () => {
  h = await startHarness("warehouse_http");
  published = recorder(h.observer, "warehouse.>");
});
afterAll(async () => {
  await h?.close();
  await spans.shutdown();
});

const post = (url: string, payload: unknown, headers: Record<string, string> = auth) =>
  h.service.app.inject({ method: "POST", url, payload: payload as object, headers });
const get = (url: string) => h.service.app.inject({ method: "GET", url });

async function register(batch: { reference?: string; sku?: string; qty?: number; eta?: string | null } = {}) {
  const body = { reference: newRef(), sku: "RED-CHAIR", qty: 20, eta: null, ...batch };
  const res = await post("/batches", body);
  expect(res.statusCode).toBe(201);
  return body as { reference: string; sku: string; qty: number; eta: string | null };
}

const publishedFor = (subject: string, reference: string) =>
  waitFor(
    () =>
      published.find(
        (m) => m.subject === subject && (m.body as { reference: string }).reference === reference,
      ),
    {
      message: `${subject} for ${reference}`,
    },
  );

function expectCloudEventHeaders(m: Seen): void {
  expect(m.headers["ce-specversion"]).toBe("1.0");
  expect(m.headers["ce-id"]).toMatch(/^[0-9a-f-]{36}$/);
  expect(m.headers["Nats-Msg-Id"]).toBe(m.headers["ce-id"]);
  expect(m.headers["ce-source"]).toBe("/warehouse");
  expect(m.headers["ce-type"]).toBe(m.subject);
  expect(Number.isNaN(Date.parse(m.headers["ce-time"] ?? ""))).toBe(false);
  expect(m.headers["content-type"]).toBe("application/json");
  expect(m.headers.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/);
}

describe("POST /batches", () => {
  it("registers stock on hand and answers 201 with the batch", async () => {
    const reference = newRef();
    const res = await post("/batches", { reference, sku: "RED-CHAIR", qty: 20, eta: null });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toEqual({ reference, sku: "RED-CHAIR", qty: 20, eta: null });
    expect((await get(`/batches/${reference}`)).json()).toEqual({
      reference,
      sku: "RED-CHAIR",
      qty: 20,
      eta: null,
    });
  });

  it("publishes batch_registered with the batch as payload and the CloudEvents headers", async () => {
    const reference = newRef();
    await post("/batches", { reference, sku: "SOFA", qty: 3, eta: "2030-05-17" });
    const m = await publishedFor("warehouse.batch_registered.v1", reference);
    expect(m.body).toEqual({ reference, sku: "SOFA", qty: 3, eta: "2030-05-17" });
    expectCloudEventHeaders(m);
  });

  it("keeps the trace of the request across the outbox", async () => {
    const reference = newRef();
    await post("/batches", { reference, sku: "SOFA", qty: 3, eta: null });
    const m = await publishedFor("warehouse.batch_registered.v1", reference);
    const traceId = m.headers.traceparent?.split("-")[1];
    const server = await waitFor(() =>
      spans
        .spans()
        .find(
          (s) => s.attributes["stockflow.batch_ref"] === reference && s.spanContext().traceId === traceId,
        ),
    );
    expect(server.attributes["stockflow.sku"]).toBe("SOFA");
    expect(
      spans.byName("send warehouse.batch_registered.v1").some((s) => s.spanContext().traceId === traceId),
    ).toBe(true);
  });

  it("answers 409 batch_exists for a known reference and changes nothing", async () => {
    const { reference } = await register({ qty: 5 });
    const res = await post("/batches", { reference, sku: "OTHER", qty: 9, eta: null });
    expect(res.statusCode).toBe(409);
    expect(res.json()).toEqual({ error: "batch_exists", message: expect.any(String) });
    expect((await get(`/batches/${reference}`)).json()).toMatchObject({ sku: "RED-CHAIR", qty: 5 });
  });

  it("lets one of several concurrent registrations of a reference win, the others get 409", async () => {
    const reference = newRef();
    const answers = await Promise.all(
      Array.from({ length: 5 }, () => post("/batches", { reference, sku: "LAMP", qty: 1, eta: null })),
    );
    expect(answers.map((a) => a.statusCode).sort()).toEqual([201, 409, 409, 409, 409]);
  });

  it.each([
    ["an unknown field", { sku: "X", qty: 1, eta: null, colour: "red" }],
    ["a missing sku", { qty: 1, eta: null }],
    ["a zero quantity", { sku: "X", qty: 0, eta: null }],
    ["a fractional quantity", { sku: "X", qty: 1.5, eta: null }],
    ["a quantity given as a string", { sku: "X", qty: "5", eta: null }],
    ["a huge quantity", { sku: "X", qty: 1e20, eta: null }],
    ["a date that is not a day", { sku: "X", qty: 1, eta: "2030-02-30" }],
    ["an eta that is not a date", { sku: "X", qty: 1, eta: "next tuesday" }],
    ["an empty sku", { sku: "", qty: 1, eta: null }],
    ["an over-long sku", { sku: "S".repeat(201), qty: 1, eta: null }],
    ["a sku with control characters", { sku: "A\u0000B", qty: 1, eta: null }],
  ])("refuses %s with 400 and registers nothing", async (_what, body) => {
    const reference = newRef();
    const res = await post("/batches", { reference, ...body });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ error: expect.any(String), message: expect.any(String) });
    expect((await get(`/batches/${reference}`)).statusCode).toBe(404);
  });

  it("refuses a body over 1 MiB with 413", async () => {
    const res = await post("/batches", {
      reference: newRef(),
      sku: "X".repeat(1024 * 1024 + 10),
      qty: 1,
      eta: null,
    });
    expect(res.statusCode).toBe(413);
  });
});

describe("POST /batches/:reference/damage", () => {
  it("answers 200 with the batch and its new quantity and publishes batch_quantity_changed", async () => {
    const { reference } = await register({ sku: "LAMP", qty: 10 });
    const res = await post(`/batches/${reference}/damage`, { qty: 3, reason: "dropped" });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ reference, sku: "LAMP", qty: 7, eta: null });
    const m = await publishedFor("warehouse.batch_quantity_changed.v1", reference);
    expect(m.body).toEqual({ reference, sku: "LAMP", qty: 7, reason: "dropped" });
    expectCloudEventHeaders(m);
  });

  it("gives the reason 'damaged' when none is given", async () => {
    const { reference } = await register({ sku: "LAMP", qty: 10 });
    await post(`/batches/${reference}/damage`, { qty: 10 });
    const m = await publishedFor("warehouse.batch_quantity_changed.v1", reference);
    expect(m.body).toEqual({ reference, sku: "LAMP", qty: 0, reason: "damaged" });
  });

  it("answers 422 damage_exceeds_quantity and changes nothing", async () => {
    const { reference } = await register({ qty: 4 });
    const res = await post(`/batches/${reference}/damage`, { qty: 5 });
    expect(res.statusCode).toBe(422);
    expect(res.json()).toEqual({ error: "damage_exceeds_quantity", message: expect.any(String) });
    expect((await get(`/batches/${reference}`)).json()).toMatchObject({ qty: 4 });
  });

  it("answers 404 batch_not_found for an unknown batch", async () => {
    const res = await post(`/batches/${newRef()}/damage`, { qty: 1 });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({ error: "batch_not_found", message: expect.any(String) });
  });

  it.each([
    ["a zero quantity", { qty: 0 }],
    ["a missing quantity", { reason: "x" }],
    ["an unknown field", { qty: 1, who: "me" }],
  ])("refuses %s with 400", async (_what, body) => {
    const { reference } = await register({ qty: 4 });
    expect((await post(`/batches/${reference}/damage`, body)).statusCode).toBe(400);
    expect((await get(`/batches/${reference}`)).json()).toMatchObject({ qty: 4 });
  });
});

describe("POST /batches/:reference/delay", () => {
  it("answers 200 with the later eta and publishes shipment_delayed", async () => {
    const { reference } = await register({ sku: "TABLE", qty: 2, eta: "2030-01-10" });
    const res = await post(`/batches/${reference}/delay`, { eta: "2030-02-01" });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ reference, sku: "TABLE", qty: 2, eta: "2030-02-01" });
    const m = await publishedFor("warehouse.shipment_delayed.v1", reference);
    expect(m.body).toEqual({ reference, sku: "TABLE", eta: "2030-02-01" });
    expectCloudEventHeaders(m);
  });

  it("turns stock on hand into a shipment", async () => {
    const { reference } = await register({ eta: null });
    const res = await post(`/batches/${reference}/delay`, { eta: "2030-02-01" });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ eta: "2030-02-01" });
  });

  it("answers 422 eta_not_later for an earlier date", async () => {
    const { reference } = await register({ eta: "2030-01-10" });
    const res = await post(`/batches/${reference}/delay`, { eta: "2030-01-01" });
    expect(res.statusCode).toBe(422);
    expect(res.json()).toEqual({ error: "eta_not_later", message: expect.any(String) });
  });

  it("answers 404 batch_not_found for an unknown batch", async () => {
    const res = await post(`/batches/${newRef()}/delay`, { eta: "2030-01-01" });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ error: "batch_not_found" });
  });

  it("refuses a date that is not a day with 400", async () => {
    const { reference } = await register({ eta: "2030-01-10" });
    expect((await post(`/batches/${reference}/delay`, { eta: "2030-13-01" })).statusCode).toBe(400);
    expect((await post(`/batches/${reference}/delay`, { eta: null })).statusCode).toBe(400);
  });
});

describe("GET /batches/:reference", () => {
  it("answers 404 batch_not_found for an unknown batch", async () => {
    const res = await get(`/batches/${newRef()}`);
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({ error: "batch_not_found", message: expect.any(String) });
  });

  it("needs no token", async () => {
    const { reference } = await register();
    expect((await get(`/batches/${reference}`)).statusCode).toBe(200);
  });
});

describe("GET /batches?sku=", () => {
  it("lists the SKU's batches, stock on hand first, then shipments by eta, then by registration", async () => {
    const sku = `LAMP-${Date.now()}`;
    const late = await register({ sku, qty: 5, eta: "2031-06-01" });
    const early = await register({ sku, qty: 6, eta: "2031-02-01" });
    const onHand = await register({ sku, qty: 7, eta: null });
    const secondOnHand = await register({ sku, qty: 8, eta: null });
    await register({ sku: `${sku}-OTHER`, qty: 9, eta: null });
    const res = await get(`/batches?sku=${encodeURIComponent(sku)}`);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual([onHand, secondOnHand, early, late]);
  });

  it("shows a batch's quantity and eta after damage and delay", async () => {
    const sku = `RUG-${Date.now()}`;
    const { reference } = await register({ sku, qty: 10, eta: "2031-01-10" });
    await post(`/batches/${reference}/damage`, { qty: 3 });
    await post(`/batches/${reference}/delay`, { eta: "2031-01-20" });
    expect((await get(`/batches?sku=${sku}`)).json()).toEqual([
      { reference, sku, qty: 7, eta: "2031-01-20" },
    ]);
  });

  it("answers an empty list for an unknown SKU", async () => {
    const res = await get("/batches?sku=NO-SUCH-SKU");
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual([]);
  });

  it("needs no token", async () => {
    const { sku } = await register({ sku: `STOOL-${Date.now()}` });
    const res = await h.service.app.inject({ method: "GET", url: `/batches?sku=${sku}`, headers: {} });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toHaveLength(1);
  });

  it.each([
    ["without a sku", "/batches"],
    ["with an empty sku", "/batches?sku="],
    ["with a sku over 200 characters", `/batches?sku=${"A".repeat(201)}`],
    ["with a sku in surrounding whitespace", "/batches?sku=%20LAMP"],
    ["with a control character in the sku", "/batches?sku=LA%07MP"],
  ])("answers 400 validation_failed %s", async (_what, url) => {
    const res = await get(url);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ error: "validation_failed", message: expect.any(String) });
  });

  it("is in the OpenAPI document with its query and answer", async () => {
    const doc = (await get("/docs/json")).json();
    const op = doc.paths["/batches"].get;
    expect(op.parameters).toEqual(
      expect.arrayContaining([expect.objectContaining({ name: "sku", in: "query", required: true })]),
    );
    expect(op.responses["200"].content["application/json"].schema).toMatchObject({ type: "array" });
    expect(op.responses["400"]).toBeDefined();
  });
});

describe("GET /dispatches", () => {
  it("answers 400 without an orderId", async () => {
    const res = await get("/dispatches");
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ error: expect.any(String), message: expect.any(String) });
  });

  it("answers an empty list for an order without instructions", async () => {
    const res = await get("/dispatches?orderId=nobody");
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual([]);
  });
});

describe("the staff token", () => {
  const attempts = (reference: string) => [
    () => post("/batches", { reference, sku: "X", qty: 1, eta: null }, {}),
    () => post(`/batches/${reference}/damage`, { qty: 1 }, {}),
    () => post(`/batches/${reference}/delay`, { eta: "2031-01-01" }, {}),
  ];

  it("is required by every write: 401 unauthorized without it", async () => {
    for (const attempt of attempts(newRef())) {
      const res = await attempt();
      expect(res.statusCode).toBe(401);
      expect(res.json()).toEqual({ error: "unauthorized", message: expect.any(String) });
    }
  });

  it.each([
    ["a wrong token", `Bearer ${STAFF_TOKEN}x`],
    ["a short wrong token", "Bearer x"],
    ["another scheme", `Basic ${STAFF_TOKEN}`],
    ["the bare token", STAFF_TOKEN],
    ["an empty bearer", "Bearer "],
  ])("refuses %s with 401 and changes nothing", async (_what, authorization) => {
    const { reference } = await register({ qty: 5 });
    const other = newRef();
    const headers = { authorization };
    expect(
      (await post("/batches", { reference: other, sku: "X", qty: 1, eta: null }, headers)).statusCode,
    ).toBe(401);
    expect((await post(`/batches/${reference}/damage`, { qty: 1 }, headers)).statusCode).toBe(401);
    expect((await post(`/batches/${reference}/delay`, { eta: "2031-01-01" }, headers)).statusCode).toBe(401);
    expect((await get(`/batches/${other}`)).statusCode).toBe(404);
    expect((await get(`/batches/${reference}`)).json()).toMatchObject({ qty: 5, eta: null });
  });

  it("is checked before the body, so an invalid body without it is still 401", async () => {
    expect((await post("/batches", { nonsense: true }, {})).statusCode).toBe(401);
  });

  it("accepts the bearer scheme in any case", async () => {
    const res = await post(
      "/batches",
      { reference: newRef(), sku: "X", qty: 1, eta: null },
      { authorization: `bearer ${STAFF_TOKEN}` },
    );
    expect(res.statusCode).toBe(201);
  });
});

describe("the audit log", () => {
  it("has one line per staff write saying who, what and when, without the token", async () => {
    const { reference } = await register({ sku: "LAMP", qty: 10 });
    await post(`/batches/${reference}/damage`, { qty: 2, reason: "wet" });
    const lines = h.logs.lines.filter(
      (l) => (l.audit as { reference?: string } | undefined)?.reference === reference,
    );
    expect(lines.map((l) => (l.audit as { action: string }).action)).toEqual([
      "batch.register",
      "batch.damage",
    ]);
    expect(lines[1]?.audit).toMatchObject({
      actor: tokenFingerprint(STAFF_TOKEN),
      action: "batch.damage",
      reference,
      damaged: 2,
      reason: "wet",
      outcome: "ok",
      sku: "LAMP",
      qtyAfter: 8,
      at: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/),
    });
    expect(h.logs.text.some((t) => t.includes(STAFF_TOKEN))).toBe(false);
  });

  it("records refused writes with their error code", async () => {
    const { reference } = await register({ qty: 1 });
    await post(`/batches/${reference}/damage`, { qty: 2 });
    const line = h.logs.lines.find(
      (l) =>
        (l.audit as { reference?: string; action?: string } | undefined)?.reference === reference &&
        (l.audit as { action: string }).action === "batch.damage",
    );
    expect(line?.audit).toMatchObject({ outcome: "damage_exceeds_quantity", damaged: 2 });
  });
});
