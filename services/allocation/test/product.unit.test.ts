import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Product } from "../src/domain/product.js";
import { productCommand as command } from "./product-commands.js";

const TODAY = null;
const TOMORROW = "2030-01-02";
const LATER = "2030-01-10";

function productWith(...batches: Array<[reference: string, qty: number, eta: string | null]>): Product {
  const product = Product.create("SMALL-TABLE");
  for (const [reference, qty, eta] of batches) product.registerBatch({ reference, qty, eta });
  return product;
}

describe("allocating an order line", () => {
  it("reduces the available quantity of the batch", () => {
    const product = productWith(["batch-001", 20, TODAY]);
    product.allocate({ orderId: "order-1", qty: 2 });
    expect(product.availableQuantity("batch-001")).toBe(18);
  });

  it("succeeds when the available quantity is greater than required", () => {
    const product = productWith(["batch-001", 20, TODAY]);
    const [event] = product.allocate({ orderId: "order-1", qty: 2 });
    expect(event).toMatchObject({
      type: "line_allocated",
      batchref: "batch-001",
      qty: 2,
      sku: "SMALL-TABLE",
    });
  });

  it("succeeds when the available quantity equals the line's quantity", () => {
    const product = productWith(["batch-001", 2, TODAY]);
    expect(product.allocate({ orderId: "order-1", qty: 2 })[0]?.type).toBe("line_allocated");
    expect(product.availableQuantity("batch-001")).toBe(0);
  });

  it("fails when the available quantity is smaller than required, and the line becomes a backorder", () => {
    const product = productWith(["batch-001", 1, TODAY]);
    const events = product.allocate({ orderId: "order-1", qty: 2 });
    expect(events).toEqual([
      { type: "out_of_stock", orderId: "order-1", sku: "SMALL-TABLE", qty: 2, version: 2 },
    ]);
    expect(product.backorders()).toEqual([{ orderId: "order-1", qty: 2 }]);
    expect(product.availableQuantity("batch-001")).toBe(1);
  });

  it("keeps a line of a SKU that has no batch at all as a backorder", () => {
    const product = Product.create("UNKNOWN-LAMP");
    expect(product.allocate({ orderId: "order-1", qty: 1 })).toEqual([
      { type: "out_of_stock", orderId: "order-1", sku: "UNKNOWN-LAMP", qty: 1, version: 1 },
    ]);
  });

  it("never takes stock from another SKU's batches", () => {
    const chairs = Product.create("CHAIR");
    chairs.registerBatch({ reference: "chairs-1", qty: 100, eta: TODAY });
    const lamps = Product.create("LAMP");
    expect(lamps.allocate({ orderId: "order-1", qty: 1 })[0]?.type).toBe("out_of_stock");
    expect(chairs.availableQuantity("chairs-1")).toBe(100);
  });

  it("never splits a line across batches", () => {
    const product = productWith(["batch-001", 6, TODAY], ["batch-002", 6, TODAY]);
    expect(product.allocate({ orderId: "order-1", qty: 10 })[0]?.type).toBe("out_of_stock");
    expect(product.availableQuantity("batch-001")).toBe(6);
    expect(product.availableQuantity("batch-002")).toBe(6);
  });

  it("changes nothing when the same line is allocated twice", () => {
    const product = productWith(["batch-001", 20, TODAY]);
    product.allocate({ orderId: "order-1", qty: 2 });
    const version = product.version;
    expect(product.allocate({ orderId: "order-1", qty: 2 })).toEqual([]);
    expect(product.availableQuantity("batch-001")).toBe(18);
    expect(product.version).toBe(version);
  });

  it("changes nothing when a backordered line is placed again", () => {
    const product = productWith(["batch-001", 1, TODAY]);
    product.allocate({ orderId: "order-1", qty: 5 });
    const version = product.version;
    expect(product.allocate({ orderId: "order-1", qty: 5 })).toEqual([]);
    expect(product.backorders()).toHaveLength(1);
    expect(product.version).toBe(version);
  });
});

describe("choosing a batch", () => {
  it("prefers stock on hand to shipments", () => {
    const product = productWith(["shipment", 100, TOMORROW], ["in-stock", 100, TODAY]);
    product.allocate({ orderId: "order-1", qty: 10 });
    expect(product.availableQuantity("in-stock")).toBe(90);
    expect(product.availableQuantity("shipment")).toBe(100);
  });

  it("prefers the shipment with the earlier eta", () => {
    const product = productWith(["slow", 100, LATER], ["speedy", 100, TOMORROW]);
    const [event] = product.allocate({ orderId: "order-1", qty: 10 });
    expect(event).toMatchObject({ batchref: "speedy" });
  });

  it("gives a tie to the batch registered first", () => {
    const product = productWith(["registered-first", 100, TOMORROW], ["registered-later", 100, TOMORROW]);
    const [event] = product.allocate({ orderId: "order-1", qty: 10 });
    expect(event).toMatchObject({ batchref: "registered-first" });
  });

  it("falls back to a less preferred batch when the preferred one has too little", () => {
    const product = productWith(["in-stock", 5, TODAY], ["shipment", 100, TOMORROW]);
    const [event] = product.allocate({ orderId: "order-1", qty: 10 });
    expect(event).toMatchObject({ batchref: "shipment" });
  });

  it("lets a delayed shipment lose its preference for future lines only", () => {
    const product = productWith(["early", 100, TOMORROW], ["late", 100, LATER]);
    product.allocate({ orderId: "order-1", qty: 10 });
    expect(product.delayShipment("early", "2031-01-01")).toEqual([
      {
        type: "line_delayed",
        orderId: "order-1",
        sku: "SMALL-TABLE",
        qty: 10,
        batchref: "early",
        eta: "2031-01-01",
        version: product.version,
      },
    ]);
    const [event] = product.allocate({ orderId: "order-2", qty: 10 });
    expect(event).toMatchObject({ batchref: "late" });
    expect(product.allocationOf("order-1")?.batchref).toBe("early");
  });
});

describe("the version number", () => {
  it("increments on every change and each event carries the version after its change", () => {
    const product = Product.create("SMALL-TABLE");
    expect(product.version).toBe(0);
    product.registerBatch({ reference: "batch-001", qty: 10, eta: TODAY });
    expect(product.version).toBe(1);
    const [allocated] = product.allocate({ orderId: "order-1", qty: 10 });
    expect(allocated?.version).toBe(2);
    const [outOfStock] = product.allocate({ orderId: "order-2", qty: 1 });
    expect(outOfStock?.version).toBe(3);
    const [delayed] = product.delayShipment("batch-001", TOMORROW);
    expect(delayed).toMatchObject({ type: "line_delayed", orderId: "order-1", eta: TOMORROW, version: 5 });
    expect(product.version).toBe(5);
    expect(product.version).toBe(product.snapshot().version);
  });

  it("gives every event of one change its own increasing version", () => {
    const product = productWith(["a", 10, TODAY], ["b", 10, TOMORROW]);
    product.allocate({ orderId: "order-1", qty: 10 });
    const events = product.changeBatchQuantity("a", 5);
    const versions = events.map((e) => e.version);
    expect(versions).toEqual([...versions].sort((x, y) => x - y));
    expect(new Set(versions).size).toBe(versions.length);
    expect(versions.at(-1)).toBe(product.version);
  });

  it("does not move when nothing changes", () => {
    const product = productWith(["batch-001", 10, TOMORROW]);
    const version = product.version;
    product.registerBatch({ reference: "batch-001", qty: 99, eta: TODAY });
    product.changeBatchQuantity("batch-001", 10);
    product.changeBatchQuantity("unknown", 3);
    product.delayShipment("batch-001", TOMORROW);
    product.cancel("never-placed");
    expect(product.version).toBe(version);
  });
});

describe("backorders", () => {
  it("are allocated in the order they arrived when a batch is registered", () => {
    const product = Product.create("SMALL-TABLE");
    product.allocate({ orderId: "first", qty: 3 });
    product.allocate({ orderId: "second", qty: 3 });
    product.allocate({ orderId: "third", qty: 3 });
    const events = product.registerBatch({ reference: "batch-001", qty: 6, eta: TODAY });
    expect(events.map((e) => [e.type, e.orderId])).toEqual([
      ["line_allocated", "first"],
      ["line_allocated", "second"],
    ]);
    expect(product.backorders()).toEqual([{ orderId: "third", qty: 3 }]);
  });

  it("do not let an older line that does not fit block a younger smaller one", () => {
    const product = Product.create("SMALL-TABLE");
    product.allocate({ orderId: "big", qty: 50 });
    product.allocate({ orderId: "small", qty: 5 });
    const events = product.registerBatch({ reference: "batch-001", qty: 10, eta: TODAY });
    expect(events.map((e) => e.orderId)).toEqual(["small"]);
    expect(product.backorders()).toEqual([{ orderId: "big", qty: 50 }]);
  });

  it("are allocated when a batch's quantity is raised", () => {
    const product = productWith(["batch-001", 5, TODAY]);
    product.allocate({ orderId: "order-1", qty: 8 });
    const events = product.changeBatchQuantity("batch-001", 8);
    expect(events).toEqual([
      {
        type: "line_allocated",
        orderId: "order-1",
        sku: "SMALL-TABLE",
        qty: 8,
        batchref: "batch-001",
        eta: null,
        version: 4,
      },
    ]);
  });

  it("are allocated from the stock a cancelled order frees", () => {
    const product = productWith(["batch-001", 10, TODAY]);
    product.allocate({ orderId: "order-1", qty: 10 });
    product.allocate({ orderId: "order-2", qty: 4 });
    const events = product.cancel("order-1");
    expect(events.map((e) => e.type)).toEqual(["line_deallocated", "line_allocated"]);
    expect(events[0]).toMatchObject({ orderId: "order-1", reason: "order_cancelled", batchref: "batch-001" });
    expect(events[1]).toMatchObject({ orderId: "order-2", batchref: "batch-001" });
  });

  it("leave the queue without an event when their order is cancelled", () => {
    const product = productWith(["batch-001", 1, TODAY]);
    product.allocate({ orderId: "order-1", qty: 5 });
    const version = product.version;
    expect(product.cancel("order-1")).toEqual([]);
    expect(product.backorders()).toEqual([]);
    expect(product.version).toBe(version + 1);
    expect(product.registerBatch({ reference: "batch-002", qty: 10, eta: TODAY })).toEqual([]);
  });
});

describe("deallocating", () => {
  it("only deallocates lines that are allocated", () => {
    const product = productWith(["batch-001", 10, TODAY]);
    product.allocate({ orderId: "order-1", qty: 2 });
    expect(product.cancel("order-2")).toEqual([]);
    expect(product.availableQuantity("batch-001")).toBe(8);
  });

  it("frees the stock of a cancelled order", () => {
    const product = productWith(["batch-001", 10, TODAY]);
    product.allocate({ orderId: "order-1", qty: 2 });
    product.cancel("order-1");
    expect(product.availableQuantity("batch-001")).toBe(10);
    expect(product.allocationOf("order-1")).toBeUndefined();
  });
});

describe("shrinking a batch", () => {
  it("moves the line to another batch when the batch drops below it (the book's reallocation scenario)", () => {
    const product = productWith(["batch1", 50, TODAY], ["batch2", 50, TOMORROW]);
    product.allocate({ orderId: "order1", qty: 20 });
    const events = product.changeBatchQuantity("batch1", 10);
    expect(events).toEqual([
      {
        type: "line_deallocated",
        orderId: "order1",
        sku: "SMALL-TABLE",
        qty: 20,
        batchref: "batch1",
        reason: "batch_quantity_changed",
        version: 5,
      },
      {
        type: "line_allocated",
        orderId: "order1",
        sku: "SMALL-TABLE",
        qty: 20,
        batchref: "batch2",
        eta: TOMORROW,
        version: 6,
      },
    ]);
    expect(product.availableQuantity("batch1")).toBe(10);
    expect(product.availableQuantity("batch2")).toBe(30);
  });

  it("deallocates the most recently allocated lines first, only until it fits", () => {
    const product = productWith(["batch1", 10, TODAY], ["batch2", 100, TOMORROW]);
    product.allocate({ orderId: "oldest", qty: 4 });
    product.allocate({ orderId: "middle", qty: 3 });
    product.allocate({ orderId: "newest", qty: 3 });
    const events = product.changeBatchQuantity("batch1", 5);
    expect(events.map((e) => [e.type, e.orderId, "batchref" in e ? e.batchref : null])).toEqual([
      ["line_deallocated", "newest", "batch1"],
      ["line_allocated", "newest", "batch2"],
      ["line_deallocated", "middle", "batch1"],
      ["line_allocated", "middle", "batch2"],
    ]);
    expect(product.allocationOf("oldest")?.batchref).toBe("batch1");
  });

  it("turns a deallocated line into a backorder when no other batch can take it", () => {
    const product = productWith(["batch1", 10, TODAY]);
    product.allocate({ orderId: "order1", qty: 8 });
    const events = product.changeBatchQuantity("batch1", 5);
    expect(events.map((e) => e.type)).toEqual(["line_deallocated", "out_of_stock"]);
    expect(product.backorders()).toEqual([{ orderId: "order1", qty: 8 }]);
  });

  it("deallocates nothing while the allocated quantity still fits", () => {
    const product = productWith(["batch1", 10, TODAY]);
    product.allocate({ orderId: "order1", qty: 4 });
    expect(product.changeBatchQuantity("batch1", 4)).toEqual([]);
    expect(product.availableQuantity("batch1")).toBe(0);
  });

  it("can drop a batch to zero, moving every line off it", () => {
    const product = productWith(["batch1", 10, TODAY], ["batch2", 10, TOMORROW]);
    product.allocate({ orderId: "a", qty: 5 });
    product.allocate({ orderId: "b", qty: 5 });
    product.changeBatchQuantity("batch1", 0);
    expect(product.allocatedQuantity("batch1")).toBe(0);
    expect(product.allocatedQuantity("batch2")).toBe(10);
  });
});

describe("whatever happens", () => {
  it("never allocates more than a batch holds, nor one line twice, and versions only grow", () => {
    fc.assert(
      fc.property(fc.array(command, { maxLength: 60 }), (commands) => {
        const product = Product.create("SKU");
        let lastVersion = 0;
        for (const c of commands) {
          const events =
            c.kind === "allocate"
              ? product.allocate({ orderId: `o${c.order}`, qty: c.qty })
              : c.kind === "cancel"
                ? product.cancel(`o${c.order}`)
                : c.kind === "register"
                  ? product.registerBatch({ reference: `b${c.ref}`, qty: c.qty, eta: c.eta })
                  : c.kind === "change"
                    ? product.changeBatchQuantity(`b${c.ref}`, c.qty)
                    : product.delayShipment(`b${c.ref}`, c.eta);
          for (const e of events) {
            expect(e.version).toBeGreaterThan(lastVersion);
            lastVersion = e.version;
          }
          expect(product.version).toBeGreaterThanOrEqual(lastVersion);
          for (const b of product.batches()) expect(b.available).toBeGreaterThanOrEqual(0);
          const state = product.snapshot();
          const lines = [
            ...state.allocations.map((a) => a.orderId),
            ...state.backorders.map((b) => b.orderId),
          ];
          expect(new Set(lines).size).toBe(lines.length);
        }
      }),
    );
  });
});
