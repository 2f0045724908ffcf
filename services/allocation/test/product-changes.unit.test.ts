import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { changesOf, type ProductChanges } from "../src/adapters/db/product-changes.js";
import { IncompleteProduct } from "../src/domain/errors.js";
import { Product } from "../src/domain/product.js";
import type { AllocationState, BackorderState, BatchState, ProductState } from "../src/domain/state.js";
import { productCommand as command } from "./product-commands.js";

/** Products made here remember the state they started from: their changes are measured against it. */
const loadedStates = new WeakMap<Product, ProductState>();
function restored(state: ProductState): Product {
  const product = Product.restore(state);
  loadedStates.set(product, state);
  return product;
}
function created(sku: string): Product {
  const product = Product.create(sku);
  loadedStates.set(product, product.snapshot());
  return product;
}
/** The rows the repository would write for what `product` did since it was made. */
const changes = (product: Product): ProductChanges =>
  changesOf(loadedStates.get(product)!, product.snapshot());

interface Needs {
  orderIds?: string[];
  queue?: boolean;
  resize?: { reference: string; qty: number };
  linesOfBatch?: string;
}

/**
 * A stored product kept whole in memory: `load` gives only what the repository would read
 * for `needs`, `apply` writes a product's changes as the repository does.
 */
class StoredProduct {
  version = 0;
  readonly batches = new Map<string, BatchState>();
  readonly allocations = new Map<string, AllocationState>();
  readonly backorders = new Map<string, BackorderState>();

  constructor(readonly sku: string) {}

  load(needs: Needs): Product {
    if (this.version === 0) return created(this.sku);
    const lines = new Map<string, AllocationState>();
    for (const id of needs.orderIds ?? []) {
      const a = this.allocations.get(id);
      if (a) lines.set(id, a);
    }
    if (needs.resize) {
      const batch = this.batches.get(needs.resize.reference);
      let excess = batch ? batch.allocated - needs.resize.qty : 0;
      const newest = [...this.allocations.values()]
        .filter((a) => a.batchref === needs.resize?.reference)
        .sort((x, y) => y.allocatedAt - x.allocatedAt);
      for (const a of newest) {
        if (excess <= 0) break;
        lines.set(a.orderId, a);
        excess -= a.qty;
      }
    }
    for (const a of this.allocations.values()) if (a.batchref === needs.linesOfBatch) lines.set(a.orderId, a);
    const waiting = [...this.backorders.values()].filter(
      (b) => needs.queue || needs.orderIds?.includes(b.orderId),
    );
    const state: ProductState = {
      sku: this.sku,
      version: this.version,
      batches: [...this.batches.values()].map((b) => ({ ...b })),
      allocations: [...lines.values()],
      backorders: waiting,
      queueComplete: needs.queue === true,
      ...(needs.linesOfBatch ? { linesOfBatch: needs.linesOfBatch } : {}),
    };
    return restored(state);
  }

  apply(c: ProductChanges): void {
    if (c.version === c.loadedVersion) return;
    expect(c.loadedVersion).toBe(this.version);
    this.version = c.version;
    for (const b of c.batches.inserted) {
      expect(this.batches.has(b.reference)).toBe(false);
      this.batches.set(b.reference, { ...b });
    }
    for (const b of c.batches.updated) {
      expect(this.batches.has(b.reference)).toBe(true);
      this.batches.set(b.reference, { ...b });
    }
    for (const id of c.allocations.removed) expect(this.allocations.delete(id)).toBe(true);
    for (const a of c.allocations.written) this.allocations.set(a.orderId, { ...a });
    for (const id of c.backorders.removed) expect(this.backorders.delete(id)).toBe(true);
    for (const b of c.backorders.written) this.backorders.set(b.orderId, { ...b });
  }
}

const TODAY = null;
const TOMORROW = "2030-01-02";

describe("a product restored from part of its state", () => {
  function stored(): StoredProduct {
    const store = new StoredProduct("SMALL-TABLE");
    const product = store.load({ queue: true });
    product.registerBatch({ reference: "batch-001", qty: 10, eta: TODAY });
    product.registerBatch({ reference: "batch-002", qty: 10, eta: TOMORROW });
    product.allocate({ orderId: "order-1", qty: 4 });
    product.allocate({ orderId: "order-2", qty: 6 });
    product.allocate({ orderId: "order-3", qty: 5 });
    store.apply(changes(product));
    return store;
  }

  it("allocates from the batches' totals without any other line", () => {
    const product = stored().load({ orderIds: ["order-9"] });
    const [event] = product.allocate({ orderId: "order-9", qty: 5 });
    expect(event).toMatchObject({ type: "line_allocated", batchref: "batch-002" });
    expect(product.availableQuantity("batch-002")).toBe(0);
  });

  it("recognises a line it was given as already allocated", () => {
    const product = stored().load({ orderIds: ["order-2"] });
    expect(product.allocate({ orderId: "order-2", qty: 6 })).toEqual([]);
  });

  it("refuses to serve backorders when it was not given the whole queue", () => {
    const product = stored().load({ orderIds: ["order-1"] });
    expect(() => product.cancel("order-1")).toThrow(IncompleteProduct);
  });

  it("refuses to shrink a batch below its allocations when it was not given the newest of them", () => {
    const product = stored().load({ queue: true });
    expect(() => product.changeBatchQuantity("batch-001", 5)).toThrow(IncompleteProduct);
  });

  it("moves the newest lines off a shrinking batch when it was given just those", () => {
    const store = stored();
    const product = store.load({ queue: true, resize: { reference: "batch-001", qty: 5 } });
    expect(product.snapshot().allocations.map((a) => a.orderId)).toEqual(["order-2"]);
    const events = product.changeBatchQuantity("batch-001", 5);
    expect(events.map((e) => [e.type, e.orderId])).toEqual([
      ["line_deallocated", "order-2"],
      ["out_of_stock", "order-2"],
    ]);
  });
});

describe("the rows written for what a product did (changesOf)", () => {
  it("are the rows to write, netted: a line moved to another batch is one written row", () => {
    const product = restored({
      sku: "SMALL-TABLE",
      version: 5,
      batches: [
        { reference: "a", qty: 10, eta: TODAY, registeredAt: 1, allocated: 8 },
        { reference: "b", qty: 10, eta: TOMORROW, registeredAt: 2, allocated: 0 },
      ],
      allocations: [{ orderId: "order-1", batchref: "a", qty: 8, allocatedAt: 3 }],
      backorders: [],
      queueComplete: true,
    });
    product.changeBatchQuantity("a", 5);
    expect(changes(product)).toEqual({
      sku: "SMALL-TABLE",
      loadedVersion: 5,
      version: 8,
      batches: {
        inserted: [],
        updated: [
          { reference: "a", qty: 5, eta: TODAY, registeredAt: 1, allocated: 0 },
          { reference: "b", qty: 10, eta: TOMORROW, registeredAt: 2, allocated: 8 },
        ],
      },
      allocations: { removed: [], written: [{ orderId: "order-1", batchref: "b", qty: 8, allocatedAt: 8 }] },
      backorders: { removed: [], written: [] },
    });
  });

  it("leave out a row added and removed again within the change", () => {
    const product = created("SMALL-TABLE");
    product.allocate({ orderId: "order-1", qty: 3 });
    product.registerBatch({ reference: "a", qty: 5, eta: TODAY });
    const written = changes(product);
    expect(written.backorders).toEqual({ removed: [], written: [] });
    expect(written.allocations.written.map((a) => a.orderId)).toEqual(["order-1"]);
    expect(written.batches.inserted).toEqual([
      { reference: "a", qty: 5, eta: TODAY, registeredAt: 2, allocated: 3 },
    ]);
  });

  it("are empty when nothing changed", () => {
    const product = created("SMALL-TABLE");
    product.cancel("never-placed");
    expect(changes(product)).toMatchObject({
      version: 0,
      loadedVersion: 0,
      batches: { inserted: [], updated: [] },
      allocations: { removed: [], written: [] },
      backorders: { removed: [], written: [] },
    });
  });
});

describe("whatever happens, loading only what each change needs", () => {
  it("decides exactly as a product held whole in memory, and its stored totals stay true", () => {
    fc.assert(
      fc.property(fc.array(command, { maxLength: 60 }), (commands) => {
        const whole = created("SKU");
        const store = new StoredProduct("SKU");
        for (const c of commands) {
          let needs: Needs;
          let run: (p: Product) => unknown[];
          if (c.kind === "allocate") {
            needs = { orderIds: [`o${c.order}`] };
            run = (p) => p.allocate({ orderId: `o${c.order}`, qty: c.qty });
          } else if (c.kind === "cancel") {
            needs = { orderIds: [`o${c.order}`], queue: true };
            run = (p) => p.cancel(`o${c.order}`);
          } else if (c.kind === "register") {
            needs = { queue: true };
            run = (p) => p.registerBatch({ reference: `b${c.ref}`, qty: c.qty, eta: c.eta });
          } else if (c.kind === "change") {
            needs = { queue: true, resize: { reference: `b${c.ref}`, qty: c.qty } };
            run = (p) => p.changeBatchQuantity(`b${c.ref}`, c.qty);
          } else {
            needs = { linesOfBatch: `b${c.ref}` };
            run = (p) => p.delayShipment(`b${c.ref}`, c.eta);
          }
          const partial = store.load(needs);
          expect(run(partial)).toEqual(run(whole));
          store.apply(changes(partial));

          const reference = whole.snapshot();
          expect(store.version).toBe(reference.version);
          const sortBy = <T>(xs: T[], key: (x: T) => string) =>
            [...xs].sort((x, y) => (key(x) < key(y) ? -1 : 1));
          expect(sortBy([...store.batches.values()], (b) => b.reference)).toEqual(
            sortBy(reference.batches, (b) => b.reference),
          );
          expect(sortBy([...store.allocations.values()], (a) => a.orderId)).toEqual(
            sortBy(reference.allocations, (a) => a.orderId),
          );
          expect(sortBy([...store.backorders.values()], (b) => b.orderId)).toEqual(
            sortBy(reference.backorders, (b) => b.orderId),
          );
          for (const batch of store.batches.values()) {
            const sum = [...store.allocations.values()]
              .filter((a) => a.batchref === batch.reference)
              .reduce((total, a) => total + a.qty, 0);
            expect(batch.allocated).toBe(sum);
            expect(batch.allocated).toBeLessThanOrEqual(batch.qty);
          }
        }
      }),
    );
  });
});
