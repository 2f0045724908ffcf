import { waitFor } from "@stockflow/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { customerRepository } from "../src/adapters/db/customer-repository.js";
import { idempotencyStore, purgeIdempotencyKeys } from "../src/adapters/db/idempotency-store.js";
import { orderRepository } from "../src/adapters/db/order-repository.js";
import { applyLineReport, cancelOrder, createOrder } from "../src/domain/order.js";
import { migratedDatabase } from "./support/database.js";

let database: Awaited<ReturnType<typeof migratedDatabase>>;
beforeAll(async () => {
  database = await migratedDatabase("ordering_repos");
});
afterAll(async () => {
  await database?.close();
});

const now = new Date("2030-05-01T10:00:00.000Z");
const later = new Date("2030-05-01T10:05:00.000Z");

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
    await orders.add(order);
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
    await orders.add(order);
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
  it("creates a customer at the first order and counts the following ones", async () => {
    const customers = customerRepository(database.db);
    expect(await customers.get("c-count")).toBeUndefined();
    expect(await customers.countOrder("c-count")).toBe(1);
    expect(await customers.countOrder("c-count")).toBe(2);
    expect(await customers.get("c-count")).toEqual({ customerId: "c-count", orderCount: 2 });
  });

  it("gives concurrent orders of one customer distinct counts", async () => {
    const counts = await Promise.all(
      Array.from({ length: 6 }, () =>
        database.db.transaction((tx) => customerRepository(tx).countOrder("c-race")),
      ),
    );
    expect(counts.sort()).toEqual([1, 2, 3, 4, 5, 6]);
  });
});

describe("the idempotency store", () => {
  const answer = (orderId: string) => ({ requestHash: "h1", statusCode: 202, response: { orderId } });

  it("lets the first request claim a key and returns its answer to the next", async () => {
    const store = idempotencyStore(database.db);
    expect(await store.claim("k-1", answer("first"))).toBeUndefined();
    expect(await store.claim("k-1", answer("second"))).toEqual(answer("first"));
  });

  it("makes a concurrent claim wait for the first transaction and read its answer", async () => {
    let release: () => void = () => {};
    const held = new Promise<void>((r) => {
      release = r;
    });
    let claimed: () => void = () => {};
    const firstClaimed = new Promise<void>((r) => {
      claimed = r;
    });
    const first = database.db.transaction(async (tx) => {
      expect(await idempotencyStore(tx).claim("k-race", answer("first"))).toBeUndefined();
      claimed();
      await held;
    });
    await firstClaimed;
    const second = database.db.transaction((tx) => idempotencyStore(tx).claim("k-race", answer("second")));
    await waitFor(
      async () => {
        const [row] = await database.sql`
        select count(*)::int as waiting from pg_locks l join pg_stat_activity a using (pid)
        where not l.granted and a.datname = current_database()`;
        return (row?.waiting ?? 0) > 0;
      },
      { message: "the second claim to wait for the first" },
    );
    release();
    await first;
    expect(await second).toEqual(answer("first"));
  });

  it("lets a key be claimed again when the first claim rolled back", async () => {
    await expect(
      database.db.transaction(async (tx) => {
        await idempotencyStore(tx).claim("k-rollback", answer("first"));
        throw new Error("rolled back");
      }),
    ).rejects.toThrow("rolled back");
    expect(await idempotencyStore(database.db).claim("k-rollback", answer("second"))).toBeUndefined();
  });

  it("purges keys older than 24 hours only", async () => {
    const store = idempotencyStore(database.db);
    await store.claim("k-old", answer("old"));
    await database.sql`update idempotency_keys set created_at = now() - interval '25 hours' where key = 'k-old'`;
    await store.claim("k-young", answer("young"));
    await database.sql`update idempotency_keys set created_at = now() - interval '23 hours' where key = 'k-young'`;
    expect(await purgeIdempotencyKeys(database.db)).toBeGreaterThanOrEqual(1);
    const keys = await database.sql`select key from idempotency_keys where key in ('k-old', 'k-young')`;
    expect(keys.map((r) => r.key)).toEqual(["k-young"]);
  });
});
