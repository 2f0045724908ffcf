import { lineAllocatedV2, lineDeallocatedV1, outOfStockV1 } from "@stockflow/contracts";
import { waitFor } from "@stockflow/testkit";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { consumerCount, publishEvent, streamMessages } from "./support/nats.js";
import { startOrdering } from "./support/service.js";

let ordering: Awaited<ReturnType<typeof startOrdering>>;
let sql: postgres.Sql;

beforeAll(async () => {
  ordering = await startOrdering("ordering_service");
  sql = postgres(ordering.dbUrl, { max: 2, onnotice: () => {} });
});
afterAll(async () => {
  await sql?.end();
  await ordering?.close();
});

const post = (body: unknown, headers: Record<string, string> = {}) =>
  ordering.app.inject({ method: "POST", url: "/orders", payload: body as object, headers });
const getOrder = async (orderId: string) =>
  (await ordering.app.inject({ method: "GET", url: `/orders/${orderId}` })).json();
const placeOrder = async (customerId: string, skus: string[]): Promise<string> => {
  const res = await post({ customerId, lines: skus.map((sku) => ({ sku, qty: 1 })) });
  expect(res.statusCode).toBe(202);
  return res.json().orderId;
};
const orderingEvents = async (subject: string) =>
  (await streamMessages(ordering.nc, "ORDERING")).filter((m) => m.subject === subject);
const waitForStatus = (orderId: string, status: string) =>
  waitFor(
    async () => {
      const order = await getOrder(orderId);
      return order.status === status && order;
    },
    { message: `order ${orderId} to be ${status}` },
  );
const counts = async () => {
  const [row] = await sql`
    select (select count(*) from orders)::int as orders, (select count(*) from outbox)::int as events,
           (select count(*) from customers)::int as customers, (select count(*) from idempotency_keys)::int as keys`;
  return row;
};

describe("POST /orders", () => {
  it("accepts an order with 202 and Location while no allocation consumer exists", async () => {
    expect(await consumerCount(ordering.nc, "ORDERING")).toBe(0);
    const res = await post({ customerId: "storefront-1", lines: [{ sku: "RED-CHAIR", qty: 3 }] });
    expect(res.statusCode).toBe(202);
    const body = res.json();
    expect(body).toEqual({ orderId: expect.any(String), status: "pending" });
    expect(res.headers.location).toBe(`/orders/${body.orderId}`);

    const order = await getOrder(body.orderId);
    expect(order).toEqual({
      orderId: body.orderId,
      customerId: "storefront-1",
      status: "pending",
      lines: [{ sku: "RED-CHAIR", qty: 3, status: "pending", batchref: null, eta: null }],
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });
  });

  it("publishes order_placed on the ORDERING stream with CloudEvents headers", async () => {
    const orderId = await placeOrder("storefront-2", ["BLUE-SOFA"]);
    const [event] = await waitFor(async () => {
      const found = (await orderingEvents("ordering.order_placed.v1")).filter(
        (m) => m.payload.orderId === orderId,
      );
      return found.length > 0 && found;
    });
    expect(event?.payload).toEqual({
      orderId,
      customerId: "storefront-2",
      lines: [{ sku: "BLUE-SOFA", qty: 1 }],
      placedAt: expect.any(String),
    });
    const h = event?.headers;
    expect(h?.get("ce-specversion")).toBe("1.0");
    expect(h?.get("ce-type")).toBe("ordering.order_placed.v1");
    expect(h?.get("ce-source")).toBe("/ordering");
    expect(h?.get("Nats-Msg-Id")).toBe(h?.get("ce-id"));
    expect(h?.get("content-type")).toBe("application/json");
  });

  it("answers a retry with the same Idempotency-Key with the first order: one order, one event", async () => {
    const body = { customerId: "retrying-customer", lines: [{ sku: "OAK-TABLE", qty: 1 }] };
    const first = await post(body, { "idempotency-key": "key-123" });
    // Same body, other spelling: keys in another order.
    const second = await post(
      { lines: [{ qty: 1, sku: "OAK-TABLE" }], customerId: "retrying-customer" },
      {
        "idempotency-key": "key-123",
      },
    );
    expect(first.statusCode).toBe(202);
    expect(second.statusCode).toBe(202);
    expect(second.json()).toEqual(first.json());
    expect(second.headers.location).toBe(first.headers.location);

    const [row] = await sql`select count(*)::int as n from orders where customer_id = 'retrying-customer'`;
    expect(row?.n).toBe(1);
    await waitFor(async () =>
      (await orderingEvents("ordering.order_placed.v1")).some(
        (m) => m.payload.customerId === "retrying-customer",
      ),
    );
    const third = await post(body, { "idempotency-key": "key-123" });
    expect(third.json()).toEqual(first.json());
    const placed = (await orderingEvents("ordering.order_placed.v1")).filter(
      (m) => m.payload.customerId === "retrying-customer",
    );
    expect(placed.length).toBe(1);
  });

  it("gives one order to concurrent requests with one Idempotency-Key", async () => {
    const body = { customerId: "double-clicker", lines: [{ sku: "OAK-TABLE", qty: 1 }] };
    const answers = await Promise.all(
      [1, 2, 3, 4].map(() => post(body, { "idempotency-key": "key-concurrent" })),
    );
    expect(answers.map((a) => a.statusCode)).toEqual([202, 202, 202, 202]);
    expect(new Set(answers.map((a) => a.json().orderId)).size).toBe(1);
    const [row] = await sql`select count(*)::int as n from orders where customer_id = 'double-clicker'`;
    expect(row?.n).toBe(1);
  });

  it("refuses an Idempotency-Key reused with another body with 409 and stores nothing", async () => {
    await post({ customerId: "c-409", lines: [{ sku: "LAMP", qty: 1 }] }, { "idempotency-key": "key-409" });
    const before = await counts();
    const res = await post(
      { customerId: "c-409", lines: [{ sku: "LAMP", qty: 2 }] },
      { "idempotency-key": "key-409" },
    );
    expect(res.statusCode).toBe(409);
    expect(res.json()).toEqual({ error: "idempotency_key_reused", message: expect.any(String) });
    expect(await counts()).toEqual(before);
  });

  const line = { sku: "SKU-1", qty: 1 };
  const invalid: [string, unknown, Record<string, string>?][] = [
    ["no body at all", undefined],
    ["no customerId", { lines: [line] }],
    ["an empty customerId", { customerId: "", lines: [line] }],
    ["a customerId over 200 characters", { customerId: "c".repeat(201), lines: [line] }],
    ["a numeric customerId", { customerId: 42, lines: [line] }],
    ["no lines", { customerId: "c" }],
    ["an empty list of lines", { customerId: "c", lines: [] }],
    [
      "101 lines",
      { customerId: "c", lines: Array.from({ length: 101 }, (_, i) => ({ sku: `S${i}`, qty: 1 })) },
    ],
    ["lines that are not a list", { customerId: "c", lines: { sku: "S", qty: 1 } }],
    ["qty 0", { customerId: "c", lines: [{ sku: "S", qty: 0 }] }],
    ["qty 10001", { customerId: "c", lines: [{ sku: "S", qty: 10_001 }] }],
    ["a fractional qty", { customerId: "c", lines: [{ sku: "S", qty: 1.5 }] }],
    ["a qty given as a string", { customerId: "c", lines: [{ sku: "S", qty: "5" }] }],
    ["a huge qty", { customerId: "c", lines: [{ sku: "S", qty: 1e308 }] }],
    ["a line without sku", { customerId: "c", lines: [{ qty: 1 }] }],
    ["an empty sku", { customerId: "c", lines: [{ sku: "", qty: 1 }] }],
    ["a sku over 200 characters", { customerId: "c", lines: [{ sku: "s".repeat(201), qty: 1 }] }],
    ["the same sku twice", { customerId: "c", lines: [line, { sku: "SKU-1", qty: 2 }] }],
    ["an unknown field", { customerId: "c", lines: [line], coupon: "FREE" }],
    ["an unknown field in a line", { customerId: "c", lines: [{ ...line, price: 1 }] }],
    ["a body that is a list", [{ customerId: "c", lines: [line] }]],
    ["a NUL character in the customerId", { customerId: "a\u0000b", lines: [line] }],
    ["a lone surrogate in a sku", { customerId: "c", lines: [{ sku: "\ud800", qty: 1 }] }],
    [
      "an Idempotency-Key over 200 characters",
      { customerId: "c", lines: [line] },
      { "idempotency-key": "k".repeat(201) },
    ],
  ];

  it.each(invalid)("refuses a body with %s with 400 and stores nothing", async (_case, body, headers) => {
    const before = await counts();
    const res = await post(body, headers);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ error: expect.any(String), message: expect.any(String) });
    expect(await counts()).toEqual(before);
  });

  it("accepts any unicode text in ids and skus", async () => {
    const res = await post({
      customerId: "kund-\u00e4\u00f6\u00fc",
      lines: [{ sku: "\ud83d\udecb\ufe0f-\u6c99\u53d1", qty: 1 }],
    });
    expect(res.statusCode).toBe(202);
    const order = await getOrder(res.json().orderId);
    expect(order.customerId).toBe("kund-\u00e4\u00f6\u00fc");
    expect(order.lines[0].sku).toBe("\ud83d\udecb\ufe0f-\u6c99\u53d1");
  });

  it("refuses invalid JSON with 400 and stores nothing", async () => {
    const before = await counts();
    const res = await ordering.app.inject({
      method: "POST",
      url: "/orders",
      payload: '{"customerId": "c", "lines": [',
      headers: { "content-type": "application/json" },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ error: expect.any(String), message: expect.any(String) });
    expect(await counts()).toEqual(before);
  });

  it("refuses a body over 1 MiB with 413", async () => {
    const res = await post({ customerId: "c".repeat(1024 * 1024 + 1), lines: [line] });
    expect(res.statusCode).toBe(413);
    expect(res.json()).toEqual({ error: "payload_too_large", message: expect.any(String) });
  });
});

describe("GET /orders/:orderId", () => {
  it("answers 404 order_not_found for an unknown order", async () => {
    for (const id of [
      "00000000-0000-0000-0000-000000000000",
      "not-a-uuid",
      "%27%3B%20drop%20table%20orders",
      "a%00b",
    ]) {
      const res = await ordering.app.inject({ method: "GET", url: `/orders/${id}` });
      expect(res.statusCode).toBe(404);
      expect(res.json()).toEqual({ error: "order_not_found", message: expect.any(String) });
    }
  });
});

describe("order status as allocation reports back", () => {
  const allocate = (
    orderId: string,
    sku: string,
    version: number,
    batchref = "BATCH-1",
    eta: string | null = null,
  ) => publishEvent(ordering.nc, lineAllocatedV2, { orderId, sku, qty: 1, batchref, eta, version });
  const backorder = (orderId: string, sku: string, version: number) =>
    publishEvent(ordering.nc, outOfStockV1, { orderId, sku, qty: 1, version });
  const deallocate = (orderId: string, sku: string, version: number, batchref = "BATCH-1") =>
    publishEvent(ordering.nc, lineDeallocatedV1, {
      orderId,
      sku,
      qty: 1,
      batchref,
      reason: "batch_quantity_changed",
      version,
    });

  it("is allocated when every line is allocated", async () => {
    const orderId = await placeOrder("alloc-1", ["CHAIR", "TABLE"]);
    await allocate(orderId, "CHAIR", 1, "B-CHAIR");
    const half = await waitFor(async () => {
      const o = await getOrder(orderId);
      return o.lines[0].status === "allocated" && o;
    });
    expect(half.status).toBe("pending");
    await allocate(orderId, "TABLE", 1, "B-TABLE", "2031-04-01");
    const order = await waitForStatus(orderId, "allocated");
    expect(order.lines).toEqual([
      { sku: "CHAIR", qty: 1, status: "allocated", batchref: "B-CHAIR", eta: null },
      { sku: "TABLE", qty: 1, status: "allocated", batchref: "B-TABLE", eta: "2031-04-01" },
    ]);
    expect(Date.parse(order.updatedAt)).toBeGreaterThan(Date.parse(order.createdAt));
  });

  it("is partially allocated when some lines are allocated and the others backordered", async () => {
    const orderId = await placeOrder("alloc-2", ["CHAIR", "TABLE"]);
    await allocate(orderId, "CHAIR", 2);
    await backorder(orderId, "TABLE", 2);
    const order = await waitForStatus(orderId, "partially_allocated");
    expect(
      order.lines.map((l: { status: string; batchref: string | null }) => [l.status, l.batchref]),
    ).toEqual([
      ["allocated", "BATCH-1"],
      ["backordered", null],
    ]);
  });

  it("is backordered when no line could be allocated", async () => {
    const orderId = await placeOrder("alloc-3", ["CHAIR", "TABLE"]);
    await backorder(orderId, "CHAIR", 3);
    await backorder(orderId, "TABLE", 3);
    await waitForStatus(orderId, "backordered");
  });

  it("goes back to pending when deallocated and is allocated again when reallocated", async () => {
    const orderId = await placeOrder("alloc-4", ["CHAIR"]);
    await allocate(orderId, "CHAIR", 4, "SHRUNK");
    await waitForStatus(orderId, "allocated");
    await deallocate(orderId, "CHAIR", 5, "SHRUNK");
    const pending = await waitForStatus(orderId, "pending");
    expect(pending.lines[0]).toEqual({ sku: "CHAIR", qty: 1, status: "pending", batchref: null, eta: null });
    await allocate(orderId, "CHAIR", 6, "OTHER");
    const order = await waitForStatus(orderId, "allocated");
    expect(order.lines[0].batchref).toBe("OTHER");
  });

  it("shows a delayed shipment's new eta, announced at a new version of the product", async () => {
    const orderId = await placeOrder("alloc-eta", ["CHAIR"]);
    await allocate(orderId, "CHAIR", 20, "SHIP", "2031-01-10");
    await waitForStatus(orderId, "allocated");
    await allocate(orderId, "CHAIR", 22, "SHIP", "2031-02-20");
    await allocate(orderId, "CHAIR", 21, "SHIP", "2031-01-31");
    await waitFor(async () => (await getOrder(orderId)).lines[0].eta === "2031-02-20", {
      message: "the newest eta",
    });
    const marker = await placeOrder("alloc-eta-marker", ["CHAIR"]);
    await allocate(marker, "CHAIR", 23);
    await waitForStatus(marker, "allocated");
    expect((await getOrder(orderId)).lines[0]).toMatchObject({ batchref: "SHIP", eta: "2031-02-20" });
  });

  it("keeps the line at the higher product version when events arrive out of order", async () => {
    const orderId = await placeOrder("alloc-5", ["CHAIR", "TABLE"]);
    await allocate(orderId, "CHAIR", 9, "NEWEST");
    await deallocate(orderId, "CHAIR", 8, "OLDER");
    await allocate(orderId, "CHAIR", 7, "OLDEST");
    // A later event about another line marks the point where the three above are done.
    await backorder(orderId, "TABLE", 1);
    const order = await waitForStatus(orderId, "partially_allocated");
    expect(order.lines[0]).toMatchObject({ status: "allocated", batchref: "NEWEST" });
  });

  it("stays cancelled when allocation events arrive after the cancellation", async () => {
    const orderId = await placeOrder("alloc-6", ["CHAIR", "TABLE"]);
    await allocate(orderId, "CHAIR", 10);
    await waitFor(async () => (await getOrder(orderId)).lines[0].status === "allocated");

    const res = await ordering.app.inject({ method: "POST", url: `/orders/${orderId}/cancel` });
    expect(res.statusCode).toBe(202);
    expect(res.json()).toEqual({ orderId, status: "cancelled" });

    await allocate(orderId, "TABLE", 11);
    await deallocate(orderId, "CHAIR", 12);
    const marker = await placeOrder("alloc-6-marker", ["CHAIR"]);
    await allocate(marker, "CHAIR", 13);
    await waitForStatus(marker, "allocated");

    const order = await getOrder(orderId);
    expect(order.status).toBe("cancelled");
    expect(
      order.lines.map((l: { status: string; batchref: string | null }) => [l.status, l.batchref]),
    ).toEqual([
      ["cancelled", null],
      ["cancelled", null],
    ]);
    const cancelled = await waitFor(async () => {
      const found = (await orderingEvents("ordering.order_cancelled.v1")).filter(
        (m) => m.payload.orderId === orderId,
      );
      return found.length > 0 && found;
    });
    expect(cancelled.map((m) => m.payload)).toEqual([{ orderId, cancelledAt: expect.any(String) }]);
  });
});

describe("POST /orders/:orderId/cancel", () => {
  it("answers 409 order_already_cancelled the second time", async () => {
    const orderId = await placeOrder("cancel-twice", ["LAMP"]);
    expect((await ordering.app.inject({ method: "POST", url: `/orders/${orderId}/cancel` })).statusCode).toBe(
      202,
    );
    const again = await ordering.app.inject({ method: "POST", url: `/orders/${orderId}/cancel` });
    expect(again.statusCode).toBe(409);
    expect(again.json()).toEqual({ error: "order_already_cancelled", message: expect.any(String) });
  });

  it("answers 404 order_not_found for an unknown order", async () => {
    const res = await ordering.app.inject({ method: "POST", url: "/orders/unknown-order/cancel" });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({ error: "order_not_found", message: expect.any(String) });
  });

  it("refuses fields in the body with 400", async () => {
    const orderId = await placeOrder("cancel-body", ["LAMP"]);
    const res = await ordering.app.inject({
      method: "POST",
      url: `/orders/${orderId}/cancel`,
      payload: { reason: "changed my mind" },
    });
    expect(res.statusCode).toBe(400);
    expect((await getOrder(orderId)).status).toBe("pending");
  });
});

describe("customers", () => {
  it("become VIP on exactly the third order, even when three orders are placed at once", async () => {
    const customerId = "vip-to-be";
    const placed = await Promise.all(
      [1, 2, 3].map(() => post({ customerId, lines: [{ sku: "SOFA", qty: 1 }] })),
    );
    expect(placed.map((r) => r.statusCode)).toEqual([202, 202, 202]);
    const res = await ordering.app.inject({ method: "GET", url: `/customers/${customerId}` });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ customerId, orderCount: 3, vip: true });

    await placeOrder(customerId, ["SOFA"]);
    await waitFor(
      async () =>
        (await orderingEvents("ordering.order_placed.v1")).filter((m) => m.payload.customerId === customerId)
          .length === 4,
    );
    const vip = (await orderingEvents("ordering.customer_became_vip.v1")).filter(
      (m) => m.payload.customerId === customerId,
    );
    expect(vip.map((m) => m.payload)).toEqual([{ customerId, orderCount: 3 }]);
  });

  it("are not VIP before the third order", async () => {
    await placeOrder("two-orders", ["SOFA"]);
    await placeOrder("two-orders", ["LAMP"]);
    const res = await ordering.app.inject({ method: "GET", url: "/customers/two-orders" });
    expect(res.json()).toEqual({ customerId: "two-orders", orderCount: 2, vip: false });
  });

  it("answers 404 customer_not_found for an unknown customer", async () => {
    const res = await ordering.app.inject({ method: "GET", url: "/customers/nobody" });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({ error: "customer_not_found", message: expect.any(String) });
  });

  it("are found by ids of up to 200 characters", async () => {
    const customerId = `c${"x".repeat(199)}`;
    await placeOrder(customerId, ["SOFA"]);
    const res = await ordering.app.inject({ method: "GET", url: `/customers/${customerId}` });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ customerId, orderCount: 1 });
  });
});

describe("operations", () => {
  it("reports ready once database, NATS and the allocation consumer run", async () => {
    const res = await ordering.app.inject({ method: "GET", url: "/readyz" });
    expect(res.statusCode).toBe(200);
  });

  it("documents the storefront routes in OpenAPI", async () => {
    const res = await ordering.app.inject({ method: "GET", url: "/docs/json" });
    expect(res.statusCode).toBe(200);
    const paths = Object.keys(res.json().paths);
    expect(paths).toEqual(
      expect.arrayContaining([
        "/orders",
        "/orders/{orderId}",
        "/orders/{orderId}/cancel",
        "/customers/{customerId}",
      ]),
    );
  });
});
