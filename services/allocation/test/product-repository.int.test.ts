import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DrizzleProductRepository, loadProductState } from "../src/adapters/db/product-repository.js";
import { ConcurrencyConflict } from "../src/app/concurrency-conflict.js";
import { migratedTestDatabase } from "./support.js";

let database: Awaited<ReturnType<typeof migratedTestDatabase>>;
const now = new Date("2030-01-01T00:00:00Z");

beforeAll(async () => {
  database = await migratedTestDatabase("allocation_repo");
});

afterAll(async () => {
  await database?.dispose();
});

describe("the product repository", () => {
  it("loads back what it saved: batches, allocations, backorders and version", async () => {
    await database.db.transaction(async (tx) => {
      const repo = new DrizzleProductRepository(tx);
      const product = await repo.getOrCreate("ROUNDTRIP");
      product.registerBatch({ reference: "rt-1", qty: 10, eta: null });
      product.registerBatch({ reference: "rt-2", qty: 5, eta: "2030-02-01" });
      product.allocate({ orderId: "o1", qty: 8 });
      product.allocate({ orderId: "o2", qty: 4 });
      product.allocate({ orderId: "o3", qty: 9 });
      await repo.saveChanges(now);
    });
    const saved = await loadProductState(database.db, "ROUNDTRIP");
    expect(saved).toEqual({
      sku: "ROUNDTRIP",
      version: 5,
      batches: [
        { reference: "rt-1", qty: 10, eta: null, registeredAt: 1 },
        { reference: "rt-2", qty: 5, eta: "2030-02-01", registeredAt: 2 },
      ],
      allocations: [
        { orderId: "o1", batchref: "rt-1", qty: 8, allocatedAt: 3 },
        { orderId: "o2", batchref: "rt-2", qty: 4, allocatedAt: 4 },
      ],
      backorders: [{ orderId: "o3", qty: 9, since: 5 }],
    });
  });

  it("writes a served backorder and a line moved to the backorders as changes to what was loaded", async () => {
    await database.db.transaction(async (tx) => {
      const repo = new DrizzleProductRepository(tx);
      const product = (await repo.get("ROUNDTRIP"))!;
      product.changeBatchQuantity("rt-1", 20);
      product.delayShipment("rt-2", "2030-03-01");
      product.changeBatchQuantity("rt-2", 3);
      await repo.saveChanges(now);
    });
    const saved = await loadProductState(database.db, "ROUNDTRIP");
    expect(saved?.batches.map((b) => [b.reference, b.qty, b.eta])).toEqual([
      ["rt-1", 20, null],
      ["rt-2", 3, "2030-03-01"],
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
        const product = (await repo.get("ROUNDTRIP"))!;
        if (++loaded === 2) bothLoaded();
        await barrier;
        product.allocate({ orderId, qty: 1 });
        await repo.saveChanges(now);
      });
    const results = await Promise.allSettled([attempt("race-a"), attempt("race-b")]);
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    const [failure] = results.filter((r) => r.status === "rejected");
    expect((failure as PromiseRejectedResult).reason).toBeInstanceOf(ConcurrencyConflict);
    const saved = await loadProductState(database.db, "ROUNDTRIP");
    expect(saved?.allocations.filter((a) => a.orderId.startsWith("race-"))).toHaveLength(1);
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
        const product = await repo.getOrCreate("BRAND-NEW");
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
});
