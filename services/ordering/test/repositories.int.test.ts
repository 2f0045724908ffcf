import { customerBecameVipV1, orderPlacedV1 } from "@stockflow/contracts";
import {
  type CommittedRow,
  ContractViolation,
  createOutbox,
  createUnitOfWork,
  type UnitOfWork,
} from "@stockflow/messaging";
import { waitFor } from "@stockflow/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { customerRepository } from "../src/adapters/db/customer-repository.js";
import { purgeIdempotencyKeys } from "../src/adapters/db/idempotency-store.js";
import { orderIntake } from "../src/adapters/db/order-intake.js";
import { orderRepository } from "../src/adapters/db/order-repository.js";
import type { OrderIntake, OutgoingEvent, StoredAnswer } from "../src/app/ports.js";
import { applyLineReport, cancelOrder, createOrder, type Order } from "../src/domain/order.js";
import { migratedDatabase } from "./support/database.js";

let database: Awaited<ReturnType<typeof migratedDatabase>>;
let intake: OrderIntake;
/**
 * What each hand-off to the relay found committed: the outbox rows' count, read the moment
 * the intake called it (a hand-off before the commit would find its rows missing).
 */
let handOffs: Promise<number>[] = [];
const handOff = () => {
  handOffs.push(database.sql<{ n: number }[]>`select count(*)::int as n from outbox`.then(([row]) => row!.n));
};
/** The kit's unit of work over the test database, its committed rows handed to `handOff`. */
const kitUnitOfWork = (to: (rows: CommittedRow[]) => void): UnitOfWork =>
  createUnitOfWork({ service: "ordering", db: database.db, handOff: to });
beforeAll(async () => {
  database = await migratedDatabase("ordering_repos");
  intake = orderIntake({ unitOfWork: kitUnitOfWork(handOff), service: "ordering" });
});
afterAll(async () => {
  await database?.close();
});

const now = new Date("2030-05-01T10:00:00.000Z");
const later = new Date("2030-05-01T10:05:00.000Z");

let seq = 0;
const newOrder = (customerId: string, skus = ["sofa"]): Order =>
  createOrder({
    orderId: `o-${++seq}`,
    customerId,
    lines: skus.map((sku) => ({ sku, qty: 1 })),
    now,
  });
const placed = (orderId: string, customerId: string): OutgoingEvent => ({
  contract: orderPlacedV1,
  payload: { orderId, customerId, lines: [{ sku: "sofa", qty: 1 }], placedAt: now.toISOString() },
});
const stored = async (orderId: string) => {
  const [row] = await database.sql`
    select (select count(*) from orders where order_id = ${orderId})::int as orders,
           (select count(*) from order_lines where order_id = ${orderId})::int as lines,
           (select count(*) from outbox where payload->>'orderId' = ${orderId})::int as events`;
  return row;
};
const countOf = async (customerId: string) =>
  (await customerRepository(database.db).get(customerId))?.orderCount;

describe("the order repository", () => {
  it("reads back an order with its lines in the order given", async () => {
    const orders = orderRepository(database.db);
    const order = createOrder({
      orderId: "o-read",
      customerId: "c-1",
      lines: [
        { sku: "zebra-lamp", qty: 1 },
        { sku: "armchair", qty: 3 },
      ],
      now,
    });
    await intake.place({ order, events: [] });
    expect(await orders.get("o-read")).toEqual(order);
  });

  it("finds nothing for an unknown id of any shape", async () => {
    const orders = orderRepository(database.db);
    expect(await orders.get("no-such-order")).toBeUndefined();
    expect(await orders.get("'; drop table orders; --")).toBeUndefined();
  });

  it("saves the changed lines and the order's timestamps", async () => {
    const orders = orderRepository(database.db);
    const order = createOrder({
      orderId: "o-save",
      customerId: "c-1",
      lines: [
        { sku: "a", qty: 1 },
        { sku: "b", qty: 2 },
      ],
      now,
    });
    await intake.place({ order, events: [] });
    const { order: allocated, line } = applyLineReport(
      order,
      { kind: "allocated", sku: "b", batchref: "batch-9", version: 7 },
      later,
    );
    await database.db.transaction(async (tx) => {
      const repo = orderRepository(tx);
      const loaded = await repo.getForUpdate("o-save");
      expect(loaded).toEqual(order);
      await repo.save(allocated, line ? [line] : []);
    });
    expect(await orders.get("o-save")).toEqual(allocated);

    const cancelled = cancelOrder(allocated, later);
    await orders.save(cancelled, cancelled.lines);
    expect(await orders.get("o-save")).toEqual(cancelled);
  });
});

describe("the customer repository", () => {
  it("finds a customer once they have ordered", async () => {
    const customers = customerRepository(database.db);
    expect(await customers.get("c-find")).toBeUndefined();
    await intake.place({ order: newOrder("c-find"), events: [] });
    expect(await customers.get("c-find")).toEqual({ customerId: "c-find", orderCount: 1 });
    expect(await customers.get("c-\u0000")).toBeUndefined();
  });
});

describe("the order intake", () => {
  it("stores the order with its lines, counts it for the customer and writes its events", async () => {
    const order = newOrder("c-count", ["lamp", "desk"]);
    expect(await intake.place({ order, events: [placed(order.orderId, "c-count")] })).toEqual({
      placed: true,
      orderCount: 1,
    });
    expect(await orderRepository(database.db).get(order.orderId)).toEqual(order);
    expect(await stored(order.orderId)).toEqual({ orders: 1, lines: 2, events: 1 });
    expect(await intake.place({ order: newOrder("c-count"), events: [] })).toEqual({
      placed: true,
      orderCount: 2,
    });
    expect(await countOf("c-count")).toBe(2);
  });

  it("does not depend on the serializers drizzle sets on its client", async () => {
    // The statements on a client with postgres-js's own serializers, not drizzle's.
    const plain = orderIntake({
      unitOfWork: {
        statement: async <T>({ text, params }: { text: string; params: unknown[] }) =>
          (await database.sql.unsafe(text, params as never[], { prepare: true })) as unknown as T[],
      },
      service: "ordering",
    });
    const order = newOrder("c-plain", ["lamp"]);
    await plain.place({ order, events: [placed(order.orderId, "c-plain")] });
    expect(await orderRepository(database.db).get(order.orderId)).toEqual(order);
    const [row] = await database.sql`select payload from outbox where payload->>'orderId' = ${order.orderId}`;
    expect(row?.payload).toMatchObject({ orderId: order.orderId, customerId: "c-plain" });
  });

  it("gives concurrent orders of one customer distinct counts", async () => {
    const results = await Promise.all(
      Array.from({ length: 6 }, () => intake.place({ order: newOrder("c-race"), events: [] })),
    );
    expect(results.map((r) => (r.placed ? r.orderCount : 0)).sort()).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it("writes an event meant for one order count only with the order that reaches it", async () => {
    const vip = (): OutgoingEvent => ({
      contract: customerBecameVipV1,
      payload: { customerId: "c-vip", orderCount: 3 },
      atOrderCount: 3,
    });
    await Promise.all(
      Array.from({ length: 5 }, () => {
        const order = newOrder("c-vip");
        return intake.place({ order, events: [placed(order.orderId, "c-vip"), vip()] });
      }),
    );
    const rows = await database.sql`
      select subject from outbox where payload->>'customerId' = 'c-vip' order by id`;
    expect(rows.filter((r) => r.subject === "ordering.customer_became_vip.v1").length).toBe(1);
    expect(rows.filter((r) => r.subject === "ordering.order_placed.v1").length).toBe(5);
  });

  it("writes outbox rows as the messaging kit's enqueue does, in the order given", async () => {
    const order = newOrder("c-rows");
    const events = [
      placed(order.orderId, "c-rows"),
      { contract: customerBecameVipV1, payload: { customerId: "c-rows", orderCount: 1 }, atOrderCount: 1 },
    ];
    await intake.place({ order, events });
    const kit = createOutbox({ service: "ordering" });
    const kitId = await database.db.transaction((tx) =>
      kit.enqueue(tx, orderPlacedV1, placed("o-kit", "c-rows").payload as never),
    );
    const rows = await database.sql<{ event_id: string; subject: string; headers: Record<string, string> }[]>`
      select event_id, subject, headers, published_at from outbox
      where payload->>'customerId' = 'c-rows' or payload->>'orderId' = 'o-kit' order by id`;
    expect(rows.map((r) => r.subject)).toEqual([
      "ordering.order_placed.v1",
      "ordering.customer_became_vip.v1",
      "ordering.order_placed.v1",
    ]);
    const [ours, , theirs] = rows;
    expect(theirs?.event_id).toBe(kitId);
    expect(Object.keys(ours?.headers ?? {}).sort()).toEqual(Object.keys(theirs?.headers ?? {}).sort());
    expect(ours?.headers).toMatchObject({
      "ce-specversion": "1.0",
      "ce-id": ours?.event_id,
      "ce-source": "/ordering",
      "ce-type": "ordering.order_placed.v1",
      "content-type": "application/json",
    });
    expect(ours).toMatchObject({ published_at: null });
  });

  it("hands the event to the outbox relay once the order and its event are committed", async () => {
    const before = Number((await database.sql`select count(*)::int as n from outbox`)[0]!.n);
    handOffs = [];
    const order = newOrder("c-wake");
    await intake.place({ order, events: [placed(order.orderId, "c-wake")] });
    expect(handOffs).toHaveLength(1);
    expect(await handOffs[0]).toBe(before + 1);
  });

  it("hands the events to the relay after the statement of orders placed together commits", async () => {
    const before = Number((await database.sql`select count(*)::int as n from outbox`)[0]!.n);
    handOffs = [];
    await Promise.all(
      Array.from({ length: 40 }, () => {
        const order = newOrder("c-together");
        return intake.place({ order, events: [placed(order.orderId, "c-together")] });
      }),
    );
    const seen = await Promise.all(handOffs);
    expect(seen.length).toBeGreaterThan(0);
    // Every hand-off follows a commit of at least one of them, the last one all of them.
    expect(Math.min(...seen)).toBeGreaterThan(before);
    expect(Math.max(...seen)).toBe(before + 40);
  });

  it("refuses an event that breaks its contract before writing anything", async () => {
    const order = newOrder("c-invalid");
    const bad = { contract: orderPlacedV1, payload: { orderId: order.orderId } } as unknown as OutgoingEvent;
    await expect(intake.place({ order, events: [bad] })).rejects.toThrow(ContractViolation);
    expect(await stored(order.orderId)).toEqual({ orders: 0, lines: 0, events: 0 });
    expect(await countOf("c-invalid")).toBeUndefined();
  });

  it("writes nothing at all when any part of the write fails", async () => {
    const good = newOrder("c-atomic");
    // Two lines of one SKU break order_lines' primary key after the order row was inserted.
    const broken: Order = { ...good, lines: [...good.lines, ...good.lines] };
    await expect(
      intake.place({ order: broken, events: [placed(good.orderId, "c-atomic")] }),
    ).rejects.toThrow();
    expect(await stored(good.orderId)).toEqual({ orders: 0, lines: 0, events: 0 });
    expect(await countOf("c-atomic")).toBeUndefined();
  });
});

describe("the order intake under load", () => {
  // One statement at a time: the first order goes alone, the ones placed meanwhile wait and
  // go together in the next statement.
  const oneAtATime = () =>
    orderIntake({
      unitOfWork: kitUnitOfWork(handOff),
      service: "ordering",
      maxInFlight: 1,
    });

  it("writes orders placed together in one statement, counting each customer's in order", async () => {
    const intake1 = oneAtATime();
    const vipAt3 = (customerId: string): OutgoingEvent => ({
      contract: customerBecameVipV1,
      payload: { customerId, orderCount: 3 },
      atOrderCount: 3,
    });
    const place = (customerId: string) => {
      const order = newOrder(customerId);
      return intake1
        .place({ order, events: [placed(order.orderId, customerId), vipAt3(customerId)] })
        .then((r) => ({ orderId: order.orderId, ...r }));
    };
    const [a1, a2, a3, b1, a4] = await Promise.all([
      place("c-batch-a"),
      place("c-batch-a"),
      place("c-batch-a"),
      place("c-batch-b"),
      place("c-batch-a"),
    ]);
    expect([a1, a2, a3, b1, a4].map((r) => (r?.placed ? r.orderCount : 0))).toEqual([1, 2, 3, 1, 4]);
    const rows = await database.sql<{ subject: string; order_id: string | null }[]>`
      select subject, payload->>'orderId' as order_id from outbox
      where payload->>'customerId' in ('c-batch-a', 'c-batch-b') order by id`;
    expect(rows.map((r) => r.order_id ?? r.subject)).toEqual([
      a1?.orderId,
      a2?.orderId,
      a3?.orderId,
      "ordering.customer_became_vip.v1",
      b1?.orderId,
      a4?.orderId,
    ]);
    expect(await countOf("c-batch-a")).toBe(4);
  });

  it("hands the outbox rows each statement wrote to the relay, with their ids, in outbox order", async () => {
    const handedOff: CommittedRow[][] = [];
    const handingOff = orderIntake({
      unitOfWork: kitUnitOfWork((rows) => handedOff.push(rows)),
      service: "ordering",
      maxInFlight: 1,
    });
    const vipAt2: OutgoingEvent = {
      contract: customerBecameVipV1,
      payload: { customerId: "c-hand-off", orderCount: 2 },
      atOrderCount: 2,
    };
    const place = (idempotency?: { key: string; answer: StoredAnswer }) => {
      const order = newOrder("c-hand-off");
      return handingOff.place({
        order,
        events: [placed(order.orderId, "c-hand-off"), vipAt2],
        ...(idempotency ? { idempotency } : {}),
      });
    };
    // Three orders in two statements, then one with a key (a statement of its own).
    await Promise.all([place(), place(), place()]);
    await place({ key: "k-hand-off", answer: { requestHash: "h", statusCode: 202, response: {} } });
    const stored = await database.sql<{ id: string; event_id: string; subject: string }[]>`
      select id::text, event_id::text, subject from outbox
      where payload->>'customerId' = 'c-hand-off' order by id`;
    // Only the order that reached 2 wrote the VIP event.
    expect(stored.map((r) => r.subject)).toEqual([
      "ordering.order_placed.v1",
      "ordering.order_placed.v1",
      "ordering.customer_became_vip.v1",
      "ordering.order_placed.v1",
      "ordering.order_placed.v1",
    ]);
    expect(handedOff.length).toBeGreaterThanOrEqual(3);
    expect(handedOff.flat().map((r) => ({ id: r.id, event_id: r.eventId, subject: r.subject }))).toEqual(
      stored,
    );
    for (const r of handedOff.flat()) expect(r.headers["ce-id"]).toBe(r.eventId);
  });

  it("fails only the bad order of a batch that fails", async () => {
    const intake1 = oneAtATime();
    const good = () => {
      const order = newOrder("c-batch-good");
      return intake1.place({ order, events: [placed(order.orderId, "c-batch-good")] });
    };
    const first = good();
    const base = newOrder("c-batch-bad");
    // Two lines of one SKU break order_lines' primary key, failing the whole statement.
    const bad = intake1.place({ order: { ...base, lines: [...base.lines, ...base.lines] }, events: [] });
    const rest = [good(), good()];
    await expect(bad).rejects.toThrow();
    const results = await Promise.all([first, ...rest]);
    expect(results.map((r) => r.placed && r.orderCount).sort()).toEqual([1, 2, 3]);
    expect(await stored(base.orderId)).toEqual({ orders: 0, lines: 0, events: 0 });
  });
});

describe("the order intake with an idempotency key", () => {
  const answer = (orderId: string): StoredAnswer => ({
    requestHash: "h1",
    statusCode: 202,
    response: { orderId },
  });
  const placeWithKey = (key: string, customerId: string, answerFor?: string) => {
    const order = newOrder(customerId);
    return intake.place({
      order,
      events: [placed(order.orderId, customerId)],
      idempotency: { key, answer: answer(answerFor ?? order.orderId) },
    });
  };

  it("lets the first request claim a key and returns its answer to the next, writing nothing", async () => {
    expect(await placeWithKey("k-1", "c-k1", "first")).toEqual({ placed: true, orderCount: 1 });
    expect(await placeWithKey("k-1", "c-k1", "second")).toEqual({ placed: false, earlier: answer("first") });
    expect(await countOf("c-k1")).toBe(1);
    const [row] = await database.sql`select count(*)::int as n from orders where customer_id = 'c-k1'`;
    expect(row?.n).toBe(1);
  });

  it("makes a request wait for a concurrent holder of the key and answers with what it stored", async () => {
    const holder = await database.sql.reserve();
    try {
      await holder`begin`;
      await holder`insert into idempotency_keys (key, request_hash, status_code, response)
        values ('k-race', 'h1', 202, '{"orderId":"holder"}'::jsonb)`;
      const second = placeWithKey("k-race", "c-race-key");
      await waitFor(
        async () => {
          const [row] = await database.sql`
            select count(*)::int as waiting from pg_locks l join pg_stat_activity a using (pid)
            where not l.granted and a.datname = current_database()`;
          return (row?.waiting ?? 0) > 0;
        },
        { message: "the second request to wait for the holder" },
      );
      await holder`commit`;
      expect(await second).toEqual({ placed: false, earlier: answer("holder") });
      expect(await countOf("c-race-key")).toBeUndefined();
    } finally {
      holder.release();
    }
  });

  it("lets a key be claimed when its holder rolled back", async () => {
    const holder = await database.sql.reserve();
    try {
      await holder`begin`;
      await holder`insert into idempotency_keys (key, request_hash, status_code, response)
        values ('k-rollback', 'h1', 202, '{}'::jsonb)`;
      const second = placeWithKey("k-rollback", "c-rollback");
      await waitFor(
        async () => {
          const [row] = await database.sql`
            select count(*)::int as waiting from pg_locks l join pg_stat_activity a using (pid)
            where not l.granted and a.datname = current_database()`;
          return (row?.waiting ?? 0) > 0;
        },
        { message: "the second request to wait for the holder" },
      );
      await holder`rollback`;
      expect(await second).toEqual({ placed: true, orderCount: 1 });
    } finally {
      holder.release();
    }
  });

  it("purges keys older than 24 hours only", async () => {
    await placeWithKey("k-old", "c-purge");
    await database.sql`update idempotency_keys set created_at = now() - interval '25 hours' where key = 'k-old'`;
    await placeWithKey("k-young", "c-purge");
    await database.sql`update idempotency_keys set created_at = now() - interval '23 hours' where key = 'k-young'`;
    expect(await purgeIdempotencyKeys(database.db)).toBeGreaterThanOrEqual(1);
    const keys = await database.sql`select key from idempotency_keys where key in ('k-old', 'k-young')`;
    expect(keys.map((r) => r.key)).toEqual(["k-young"]);
  });
});
