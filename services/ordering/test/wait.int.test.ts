import { lineAllocatedV2 } from "@stockflow/contracts";
import type { HttpApp } from "@stockflow/service-kit";
import { waitFor } from "@stockflow/testkit";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { OrderingService } from "../src/bootstrap.js";
import { WAIT_REFUSED_HEADER } from "../src/http/routes/orders.js";
import { publishEvent } from "./support/nats.js";
import { orderingReplica, startOrdering } from "./support/service.js";

// Replica A runs the relay and the allocation consumer (it applies every allocation event);
// replica B serves HTTP only, on the same database and NATS: what B's waiters see, another
// replica applied.
let a: Awaited<ReturnType<typeof startOrdering>>;
let b: OrderingService;
let sql: postgres.Sql;
const replicas: OrderingService[] = [];

beforeAll(async () => {
  a = await startOrdering("ordering_wait");
  b = await orderingReplica(a.dbUrl, a.nats.url);
  sql = postgres(a.dbUrl, { max: 1, onnotice: () => {} });
});
afterAll(async () => {
  await sql?.end();
  for (const replica of [b, ...replicas]) {
    await replica?.app.close();
    await replica?.stop();
  }
  await a?.close();
});

async function extraReplica(env: Record<string, string> = {}): Promise<OrderingService> {
  const replica = await orderingReplica(a.dbUrl, a.nats.url, { env });
  replicas.push(replica);
  return replica;
}

async function placeOrder(customerId: string, sku = "RED-CHAIR"): Promise<string> {
  const res = await a.app.inject({
    method: "POST",
    url: "/orders",
    payload: { customerId, lines: [{ sku, qty: 1 }] },
  });
  expect(res.statusCode).toBe(202);
  return res.json().orderId;
}

const allocate = (orderId: string, sku = "RED-CHAIR") =>
  publishEvent(a.nc, lineAllocatedV2, { orderId, sku, qty: 1, batchref: "batch-1", eta: null, version: 1 });

/** A GET that is still running, with a flag telling whether it has answered yet. */
function getOrder(app: HttpApp, orderId: string, query = "") {
  const state = { answered: false };
  const answer = app.inject({ method: "GET", url: `/orders/${orderId}${query}` }).finally(() => {
    state.answered = true;
  });
  return { answer, state };
}

const waiting = (replica: OrderingService, n: number) =>
  waitFor(() => replica.waitingRequests() === n, { message: `${n} waiting requests` });

describe("GET /orders/:orderId?wait=", () => {
  it("holds a pending order until the commit that allocates it, then answers allocated", async () => {
    const orderId = await placeOrder("waiting-customer");
    const get = getOrder(a.app, orderId, "?wait=30000");
    await waiting(a.service, 1);
    expect(get.state.answered).toBe(false);

    await allocate(orderId);
    const res = await get.answer;
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      orderId,
      status: "allocated",
      lines: [{ status: "allocated", batchref: "batch-1" }],
    });
    expect(a.service.waitingRequests()).toBe(0);
  });

  it("answers pending when the time is up and nothing changed the order", async () => {
    const orderId = await placeOrder("patient-customer");
    const res = await getOrder(a.app, orderId, "?wait=300").answer;
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ orderId, status: "pending" });
    expect(a.service.waitingRequests()).toBe(0);
  });

  it("answers at once, without waiting, for an order that is not pending", async () => {
    const orderId = await placeOrder("quick-customer");
    await allocate(orderId);
    await waitFor(async () => (await getOrder(a.app, orderId).answer).json().status === "allocated");
    // A held request would outlast the test's own time limit.
    const res = await getOrder(a.app, orderId, "?wait=30000").answer;
    expect(res.json()).toMatchObject({ status: "allocated" });
  });

  it("answers 404 order_not_found at once for an unknown order", async () => {
    const res = await getOrder(a.app, "no-such-order", "?wait=30000").answer;
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ error: "order_not_found" });
    expect(a.service.waitingRequests()).toBe(0);
  });

  it("refuses a wait that is not an integer from 0 to 30000 with 400 validation_failed", async () => {
    const orderId = await placeOrder("careless-customer");
    for (const wait of ["30001", "-1", "1.5", "soon", "", "1e3", "99999999999"]) {
      const res = await getOrder(a.app, orderId, `?wait=${wait}`).answer;
      expect(res.statusCode, `wait=${wait}`).toBe(400);
      expect(res.json()).toEqual({ error: "validation_failed", message: expect.any(String) });
    }
    const now = await getOrder(a.app, orderId, "?wait=0").answer;
    expect(now.statusCode).toBe(200);
    expect(now.json()).toMatchObject({ status: "pending" });
  });

  it("wakes a request waiting on one replica when another replica applies the change", async () => {
    const orderId = await placeOrder("replicated-customer");
    const get = getOrder(b.app, orderId, "?wait=30000");
    await waiting(b, 1);
    expect(get.state.answered).toBe(false);

    await allocate(orderId); // only replica A consumes
    const res = await get.answer;
    expect(res.json()).toMatchObject({ orderId, status: "allocated" });
  });

  it("wakes a request waiting on one replica when the order is cancelled through another", async () => {
    const orderId = await placeOrder("fickle-customer");
    const get = getOrder(b.app, orderId, "?wait=30000");
    await waiting(b, 1);

    const cancel = await a.app.inject({ method: "POST", url: `/orders/${orderId}/cancel` });
    expect(cancel.statusCode).toBe(202);
    expect((await get.answer).json()).toMatchObject({ orderId, status: "cancelled" });
  });

  it("wakes waiting requests whose notification was lost while LISTEN reconnected", async () => {
    const orderId = await placeOrder("unlucky-customer");
    const get = getOrder(b.app, orderId, "?wait=30000");
    await waiting(b, 1);

    // Every LISTEN connection of both replicas goes; the change may commit before they are back.
    const terminated = await sql`select pg_terminate_backend(pid) from pg_stat_activity
              where datname = current_database() and query ilike 'listen %'`;
    expect(terminated.length).toBeGreaterThan(0);
    await allocate(orderId);
    expect((await get.answer).json()).toMatchObject({ orderId, status: "allocated" });
  });

  it("holds at most the configured number of requests and answers the others at once, saying so", async () => {
    const capped = await extraReplica({ ORDER_WAIT_MAX_REQUESTS: "2" });
    const orderId = await placeOrder("crowd");
    const held = [getOrder(capped.app, orderId, "?wait=30000"), getOrder(capped.app, orderId, "?wait=30000")];
    await waiting(capped, 2);

    const refused = await getOrder(capped.app, orderId, "?wait=30000").answer;
    expect(refused.statusCode).toBe(200);
    expect(refused.json()).toMatchObject({ orderId, status: "pending" });
    expect(refused.headers[WAIT_REFUSED_HEADER]).toBe("too_many_waiting");
    expect(held.map((g) => g.state.answered)).toEqual([false, false]);

    await allocate(orderId);
    for (const g of held) {
      const res = await g.answer;
      expect(res.json()).toMatchObject({ status: "allocated" });
      expect(res.headers[WAIT_REFUSED_HEADER]).toBeUndefined();
    }
    expect(capped.waitingRequests()).toBe(0);
  });

  it("answers waiting requests with the order as it is when the app closes", async () => {
    const closing = await extraReplica();
    const orderId = await placeOrder("closing-time");
    const get = getOrder(closing.app, orderId, "?wait=30000");
    await waiting(closing, 1);

    await closing.app.close();
    const res = await get.answer;
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ orderId, status: "pending" });
    expect(closing.waitingRequests()).toBe(0);
  });

  it("documents wait as an integer query parameter from 0 to 30000", async () => {
    const doc = (await a.app.inject({ method: "GET", url: "/docs/json" })).json();
    const parameters = doc.paths["/orders/{orderId}"].get.parameters as {
      name: string;
      in: string;
      schema: object;
    }[];
    expect(parameters.find((p) => p.name === "wait")).toMatchObject({
      in: "query",
      required: false,
      schema: { type: "integer", minimum: 0, maximum: 30000 },
    });
  });
});
