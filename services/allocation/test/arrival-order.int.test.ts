import { jetstreamManager } from "@nats-io/jetstream";
import {
  batchQuantityChangedV1,
  batchRegisteredV1,
  orderCancelledV1,
  orderPlacedV1,
  shipmentDelayedV1,
} from "@stockflow/contracts";
import { connectNats } from "@stockflow/messaging";
import { waitFor } from "@stockflow/testkit";
import { drizzle } from "drizzle-orm/postgres-js";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type UnitOfWorkFactory, unitOfWorkFactory } from "../src/adapters/db/unit-of-work.js";
import * as handlers from "../src/app/handlers.js";
import type { UnitOfWork } from "../src/app/ports.js";
import { allocationOverJetStream } from "./jetstream.js";
import { kitUnitOfWork, quietLogger } from "./support.js";

// Every pair of messages allocation's consumers receive about one order or one batch, in
// both orders, on a real PostgreSQL and JetStream: the end state is the one the contract
// describes whichever comes first, and whichever replica handles each. "Another replica"
// is, where the interleaving must be exact, this test holding a transaction of its own on
// the service's database through the same handlers and unit of work the service runs.

let stack: Awaited<ReturnType<typeof allocationOverJetStream>>;
let service: typeof stack.service;
let others: typeof stack.others;
let testDb: typeof stack.testDb;
let sql: postgres.Sql;
let nc: Awaited<ReturnType<typeof connectNats>>;
let unitOfWork: UnitOfWorkFactory;

beforeAll(async () => {
  // News of a batch not registered yet is redelivered quickly (and never dead-lettered).
  stack = await allocationOverJetStream("allocation_arrival", {
    CONSUMER_RETRY_DELAYS_MS: "50,100,200",
    CONSUMER_MAX_ATTEMPTS: "2",
  });
  ({ service, others, testDb } = stack);
  sql = postgres(testDb.url, { max: 4, onnotice: () => {} });
  unitOfWork = unitOfWorkFactory({
    clock: { now: () => new Date("2030-01-01T00:00:00Z") },
    unitOfWork: kitUnitOfWork(drizzle(sql)),
  });
  nc = await connectNats({ servers: stack.nats.url, name: "arrival-order", logger: quietLogger() });
});

afterAll(async () => {
  await sql?.end({ timeout: 2 });
  await nc?.close();
  await stack?.dispose();
});

const placed = (orderId: string, sku: string, qty: number) => ({
  orderId,
  customerId: "customer-1",
  lines: [{ sku, qty }],
  placedAt: "2030-01-01T00:00:00Z",
});
const cancelled = (orderId: string) => ({ orderId, cancelledAt: "2030-01-01T00:01:00Z" });

/** Both consumers have handled (and acked) everything on their streams. */
async function caughtUp(): Promise<void> {
  await others.flushed();
  await waitFor(
    async () => (await Promise.all(service.consumers.map((c) => c.pending()))).every((n) => n === 0),
    { message: "allocation's consumers to catch up", timeoutMs: 20_000 },
  );
}

async function held(orderId: string) {
  const [row] = await sql`
    select (select count(*) from allocations where order_id = ${orderId})::int as allocated,
           (select count(*) from backorders where order_id = ${orderId})::int as waiting`;
  return row;
}

async function batch(reference: string) {
  const [row] = await sql`select qty, eta::text, allocated from batches where reference = ${reference}`;
  return row;
}

/**
 * Runs `fn` in a transaction of its own, as another replica would, and holds it open (with
 * its row locks) until `commit` is called; `worked` resolves once `fn` has run.
 */
function openTransaction(fn: (uow: UnitOfWork) => Promise<void>) {
  let release!: () => void;
  const released = new Promise<void>((r) => {
    release = r;
  });
  let ran!: () => void;
  const worked = new Promise<void>((r) => {
    ran = r;
  });
  const client = postgres(testDb.url, { max: 1, onnotice: () => {} });
  const finished = drizzle(client)
    .transaction(async (tx) => {
      await fn(unitOfWork(tx));
      ran();
      await released;
    })
    .finally(() => client.end({ timeout: 2 }));
  return {
    worked: Promise.race([worked, finished.then(() => Promise.reject(new Error("ended before its work")))]),
    commit: () => {
      release();
      return finished;
    },
  };
}

/** Waits until a session of the service waits for a row lock (what the open transaction holds). */
const serviceWaitsForLock = () =>
  waitFor(
    async () => {
      const [row] = await sql`
        select count(*)::int as n from pg_stat_activity
        where datname = current_database() and wait_event_type = 'Lock'`;
      return (row?.n ?? 0) > 0;
    },
    { message: "the service to wait for the row lock", timeoutMs: 20_000 },
  );

describe("a placement and its cancellation", () => {
  it.each([
    ["placement first", "placed", "cancelled"],
    ["cancellation first", "cancelled", "placed"],
  ] as const)("leave the order holding nothing on the bus in either order (%s)", async (name, ...order) => {
    const sku = `PAIR-${order[0]}`;
    const orderId = `pair-${order[0]}`;
    await others.publish(batchRegisteredV1, { reference: `${sku}-1`, sku, qty: 5, eta: null });
    await caughtUp();
    for (const kind of order) {
      if (kind === "placed") await others.publish(orderPlacedV1, placed(orderId, sku, 5));
      else await others.publish(orderCancelledV1, cancelled(orderId));
    }
    await caughtUp();
    expect(await held(orderId)).toEqual({ allocated: 0, waiting: 0 });
    expect(await batch(`${sku}-1`)).toMatchObject({ qty: 5, allocated: 0 });
    const events = name === "placement first" ? 2 : 0;
    await waitFor(() => others.about(orderId).length >= events, { message: "allocation's events" });
    const told = others.about(orderId).map((e) => [e.subject, e.reason]);
    // A placement that comes after its cancellation finds the tombstone: nothing to tell.
    expect(told).toEqual(
      name === "placement first"
        ? [
            ["allocation.line_allocated.v1", undefined],
            ["allocation.line_deallocated.v1", "order_cancelled"],
          ]
        : [],
    );
    // The stock is free for the next order.
    await others.publish(orderPlacedV1, placed(`${orderId}-next`, sku, 5));
    await caughtUp();
    expect(await held(`${orderId}-next`)).toEqual({ allocated: 1, waiting: 0 });
  });

  it("serialize across replicas: a cancellation waits for the placement another replica is committing, then frees its stock", async () => {
    await others.publish(batchRegisteredV1, { reference: "RACE-A-1", sku: "RACE-A", qty: 5, eta: null });
    await caughtUp();
    const replicaA = openTransaction((uow) => handlers.allocate(uow, placed("race-a", "RACE-A", 3)));
    await replicaA.worked;
    await others.publish(orderCancelledV1, cancelled("race-a"));
    await serviceWaitsForLock();
    await replicaA.commit();
    await caughtUp();
    expect(await held("race-a")).toEqual({ allocated: 0, waiting: 0 });
    expect(await batch("RACE-A-1")).toMatchObject({ allocated: 0 });
  });

  it("serialize across replicas: a placement waits for the cancellation another replica is committing, then allocates nothing", async () => {
    await others.publish(batchRegisteredV1, { reference: "RACE-B-1", sku: "RACE-B", qty: 5, eta: null });
    await caughtUp();
    const replicaA = openTransaction((uow) => handlers.cancelOrder(uow, cancelled("race-b")));
    await replicaA.worked;
    await others.publish(orderPlacedV1, placed("race-b", "RACE-B", 3));
    await serviceWaitsForLock();
    await replicaA.commit();
    await caughtUp();
    expect(await held("race-b")).toEqual({ allocated: 0, waiting: 0 });
    expect(others.about("race-b")).toEqual([]);
    const [record] = await sql`select cancelled from order_records where order_id = 'race-b'`;
    expect(record).toEqual({ cancelled: true });
  });
});

describe("a batch's registration and its news", () => {
  it.each([
    ["registration first", true],
    ["news first", false],
  ])("end with the news applied in either order (%s)", async (_, registrationFirst) => {
    const sku = `NEWS-${registrationFirst ? "R" : "N"}`;
    const reference = `${sku}-1`;
    const register = () => others.publish(batchRegisteredV1, { reference, sku, qty: 10, eta: "2030-02-01" });
    const news = async () => {
      await others.publish(batchQuantityChangedV1, { reference, sku, qty: 4, reason: "damaged" });
      await others.publish(shipmentDelayedV1, { reference, sku, eta: "2030-03-01" });
    };
    if (registrationFirst) {
      await register();
      await news();
    } else {
      // News of a batch not registered yet fails and comes back until the registration is
      // in: more deliveries than CONSUMER_MAX_ATTEMPTS (2 here), and still not dead-lettered.
      const jsm = await jetstreamManager(nc);
      const deliveries = async () =>
        (await jsm.consumers.info("WAREHOUSE", "allocation-warehouse")).delivered.consumer_seq;
      const before = await deliveries();
      await news();
      await waitFor(async () => (await deliveries()) >= before + 6, {
        message: "each news delivered three times",
        timeoutMs: 60_000,
      });
      await register();
    }
    await caughtUp();
    expect(await batch(reference)).toMatchObject({ qty: 4, eta: "2030-03-01" });
    const jsm = await jetstreamManager(nc);
    expect((await jsm.streams.info("DLQ")).state.messages).toBe(0);
  });

  it.each([
    ["in stream order", [1, 2]],
    ["the older redelivered after the newer", [2, 1]],
  ])("keep the newest of two quantity changes and of two delays, applied %s", async (name, positions) => {
    const sku = `STALE-${positions[0]}`;
    const reference = `${sku}-1`;
    await others.publish(batchRegisteredV1, { reference, sku, qty: 10, eta: "2030-02-01" });
    await caughtUp();
    const changes = { 1: { qty: 7, eta: "2030-03-01" }, 2: { qty: 5, eta: "2030-04-01" } } as const;
    const base = 1_000_000; // stream positions past anything this test's stream holds
    for (const p of positions as (1 | 2)[]) {
      await drizzle(sql).transaction(async (tx) => {
        await handlers.changeBatchQuantity(
          unitOfWork(tx),
          { reference, sku, qty: changes[p].qty, reason: name },
          base + p,
        );
        await handlers.delayShipment(unitOfWork(tx), { reference, sku, eta: changes[p].eta }, base + p);
      });
    }
    expect(await batch(reference)).toMatchObject({ qty: 5, eta: "2030-04-01" });
  });
});
