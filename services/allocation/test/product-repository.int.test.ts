import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DrizzleProductRepository, loadProductState } from "../src/adapters/db/product-repository.js";
import { ProductSession } from "../src/adapters/db/product-session.js";
import { ConcurrencyConflict } from "../src/app/concurrency-conflict.js";
import type { ProductState } from "../src/domain/state.js";
import { migratedTestDatabase } from "./support.js";

/** Children in a stable order: the repository leaves ordering to the domain. */
function sortedState(state: ProductState | undefined): ProductState | undefined {
  if (!state) return state;
  const by =
    <T>(key: (x: T) => number | string) =>
    (x: T, y: T) =>
      key(x) < key(y) ? -1 : 1;
  return {
    ...state,
    batches: [...state.batches].sort(by((b) => b.registeredAt)),
    allocations: [...state.allocations].sort(by((a) => a.allocatedAt)),
    backorders: [...state.backorders].sort(by((b) => b.since)),
  };
}

let database: Awaited<ReturnType<typeof migratedTestDatabase>>;
const now = new Date("2030-01-01T00:00:00Z");

beforeAll(async () => {
  database = await migratedTestDatabase("allocation_repo");
});

afterAll(async () => {
  await database?.close();
});

describe("the product repository", () => {
  it("loads back what it saved: batches with their totals, the lines asked for, backorders and version", async () => {
    await database.db.transaction(async (tx) => {
      const repo = new DrizzleProductRepository(tx);
      const product = (await repo.getOrCreate(["ROUNDTRIP"], { queue: true }))[0]!;
      product.registerBatch({ reference: "rt-1", qty: 10, eta: null });
      product.registerBatch({ reference: "rt-2", qty: 5, eta: "2030-02-01" });
      product.allocate({ orderId: "o1", qty: 8 });
      product.allocate({ orderId: "o2", qty: 4 });
      product.allocate({ orderId: "o3", qty: 9 });
      await repo.saveChanges(now);
    });
    const saved = await loadProductState(database.db, "ROUNDTRIP", { orderIds: ["o1", "o2"], queue: true });
    expect(sortedState(saved)).toEqual({
      sku: "ROUNDTRIP",
      version: 5,
      batches: [
        { reference: "rt-1", qty: 10, eta: null, registeredAt: 1, allocated: 8 },
        { reference: "rt-2", qty: 5, eta: "2030-02-01", registeredAt: 2, allocated: 4 },
      ],
      allocations: [
        { orderId: "o1", batchref: "rt-1", qty: 8, allocatedAt: 3 },
        { orderId: "o2", batchref: "rt-2", qty: 4, allocatedAt: 4 },
      ],
      backorders: [{ orderId: "o3", qty: 9, since: 5 }],
      queueComplete: true,
    });
  });

  it("loads no allocation row that a change did not ask for", async () => {
    const bare = await loadProductState(database.db, "ROUNDTRIP");
    expect(bare).toMatchObject({ allocations: [], backorders: [], queueComplete: false });
    const ownLine = await loadProductState(database.db, "ROUNDTRIP", { orderIds: ["o3"] });
    expect(ownLine).toMatchObject({ allocations: [], backorders: [{ orderId: "o3" }] });
  });

  it("loads the newest lines of a shrinking batch, just enough to bring it down", async () => {
    await database.db.transaction(async (tx) => {
      const repo = new DrizzleProductRepository(tx);
      const product = (await repo.getOrCreate(["SHRINK"], { queue: true }))[0]!;
      product.registerBatch({ reference: "sh-1", qty: 20, eta: null });
      for (const [orderId, qty] of [
        ["s1", 5],
        ["s2", 5],
        ["s3", 3],
        ["s4", 2],
      ] as const) {
        product.allocate({ orderId, qty });
      }
      await repo.saveChanges(now);
    });
    const newest = async (qty: number) =>
      (await loadProductState(database.db, "SHRINK", { resize: { reference: "sh-1", qty } }))?.allocations
        .map((a) => a.orderId)
        .sort();
    expect(await newest(15)).toEqual([]);
    expect(await newest(14)).toEqual(["s4"]);
    expect(await newest(13)).toEqual(["s4"]);
    expect(await newest(12)).toEqual(["s3", "s4"]);
    expect(await newest(0)).toEqual(["s1", "s2", "s3", "s4"]);
  });

  it("writes a served backorder and a line moved to the backorders as changes to what was loaded", async () => {
    await database.db.transaction(async (tx) => {
      const repo = new DrizzleProductRepository(tx);
      const product = (await repo.get("ROUNDTRIP", {
        queue: true,
        resize: { reference: "rt-2", qty: 3 },
        linesOfBatch: "rt-2",
      }))!;
      product.changeBatchQuantity("rt-1", 20);
      product.delayShipment("rt-2", "2030-03-01");
      product.changeBatchQuantity("rt-2", 3);
      await repo.saveChanges(now);
    });
    const saved = sortedState(
      await loadProductState(database.db, "ROUNDTRIP", { orderIds: ["o1", "o2", "o3"], queue: true }),
    );
    expect(saved?.batches.map((b) => [b.reference, b.qty, b.eta, b.allocated])).toEqual([
      ["rt-1", 20, null, 17],
      ["rt-2", 3, "2030-03-01", 0],
    ]);
    expect(saved?.allocations.map((a) => [a.orderId, a.batchref])).toEqual([
      ["o1", "rt-1"],
      ["o3", "rt-1"],
    ]);
    expect(saved?.backorders.map((b) => b.orderId)).toEqual(["o2"]);
  });

  it("finds the products that hold a line of an order", async () => {
    const skus = await database.db.transaction(async (tx) => {
      const products = await new DrizzleProductRepository(tx).withOrder("o3");
      return products.map((p) => p.sku);
    });
    expect(skus).toEqual(["ROUNDTRIP"]);
  });

  it("lets exactly one of two concurrent saves of the same product version win", async () => {
    let loaded = 0;
    let bothLoaded!: () => void;
    const barrier = new Promise<void>((resolve) => {
      bothLoaded = resolve;
    });
    const attempt = (orderId: string) =>
      database.db.transaction(async (tx) => {
        const repo = new DrizzleProductRepository(tx);
        const product = (await repo.get("ROUNDTRIP", { orderIds: [orderId] }))!;
        if (++loaded === 2) bothLoaded();
        await barrier;
        product.allocate({ orderId, qty: 1 });
        await repo.saveChanges(now);
      });
    const results = await Promise.allSettled([attempt("race-a"), attempt("race-b")]);
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    const [failure] = results.filter((r) => r.status === "rejected");
    expect((failure as PromiseRejectedResult).reason).toBeInstanceOf(ConcurrencyConflict);
    const saved = await loadProductState(database.db, "ROUNDTRIP", { orderIds: ["race-a", "race-b"] });
    expect(saved?.allocations).toHaveLength(1);
    expect(saved?.batches.find((b) => b.reference === "rt-1")?.allocated).toBe(18);
  });

  it("lets exactly one of two concurrent creations of the same product win", async () => {
    let loaded = 0;
    let bothLoaded!: () => void;
    const barrier = new Promise<void>((resolve) => {
      bothLoaded = resolve;
    });
    const attempt = (reference: string) =>
      database.db.transaction(async (tx) => {
        const repo = new DrizzleProductRepository(tx);
        const product = (await repo.getOrCreate(["BRAND-NEW"], { queue: true }))[0]!;
        if (++loaded === 2) bothLoaded();
        await barrier;
        product.registerBatch({ reference, qty: 1, eta: null });
        await repo.saveChanges(now);
      });
    const results = await Promise.allSettled([attempt("new-a"), attempt("new-b")]);
    expect(results.map((r) => r.status).sort()).toEqual(["fulfilled", "rejected"]);
    expect((results.find((r) => r.status === "rejected") as PromiseRejectedResult).reason).toBeInstanceOf(
      ConcurrencyConflict,
    );
    expect((await loadProductState(database.db, "BRAND-NEW"))?.batches).toHaveLength(1);
  });

  it("recalls a product within its transaction, and never lets a line it did not read decide", async () => {
    const doubted = new Set<string>();
    const waiting = (product: { backorders(): Array<{ orderId: string }> } | undefined) =>
      product?.backorders().map((b) => b.orderId);
    await database.db.transaction(async (tx) => {
      const session = new ProductSession(doubted);
      await new DrizzleProductRepository(tx, session).get("ROUNDTRIP", { orderIds: ["o1"] });
      // Recalled, not read: o2's waiting line is assumed absent. Nothing written can check
      // that, so saving the unchanged product counts as a conflict.
      const recalled = new DrizzleProductRepository(tx, session);
      expect(waiting(await recalled.get("ROUNDTRIP", { orderIds: ["o2"] }))).toEqual([]);
      await expect(recalled.saveChanges(now)).rejects.toBeInstanceOf(ConcurrencyConflict);
    });
    await database.db.transaction(async (tx) => {
      const session = new ProductSession(doubted);
      await new DrizzleProductRepository(tx, session).get("ROUNDTRIP", { orderIds: ["o1"] });
      const doubtedLine = await new DrizzleProductRepository(tx, session).get("ROUNDTRIP", {
        orderIds: ["o2"],
      });
      expect(waiting(doubtedLine)).toEqual(["o2"]);
    });
  });
});
