import {
  batchQuantityChangedV1,
  batchRegisteredV1,
  orderCancelledV1,
  orderPlacedV1,
} from "@stockflow/contracts";
import { waitFor } from "@stockflow/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { allocationOverJetStream } from "./jetstream.js";

let stack: Awaited<ReturnType<typeof allocationOverJetStream>>;
let service: typeof stack.service;
let others: typeof stack.others;

beforeAll(async () => {
  stack = await allocationOverJetStream("allocation_flow");
  ({ service, others } = stack);
});

afterAll(async () => {
  await stack?.dispose();
});

const placed = (orderId: string, sku: string, qty: number) => ({
  orderId,
  customerId: "customer-1",
  lines: [{ sku, qty }],
  placedAt: new Date().toISOString(),
});

async function productView(sku: string) {
  const res = await service.app.inject({ method: "GET", url: `/products/${sku}` });
  return res.statusCode === 200 ? res.json() : undefined;
}

describe("allocation over JetStream", () => {
  it("publishes line_allocated for a placed order", async () => {
    await others.publish(batchRegisteredV1, { reference: "lamp-1", sku: "LAMP", qty: 10, eta: null });
    await waitFor(() => productView("LAMP"), { message: "the LAMP batch" });
    await others.publish(orderPlacedV1, placed("order-1", "LAMP", 3));
    const [event] = await waitFor(() => others.about("order-1").length > 0 && others.about("order-1"));
    expect(event).toEqual({
      subject: "allocation.line_allocated.v1",
      orderId: "order-1",
      sku: "LAMP",
      qty: 3,
      batchref: "lamp-1",
      version: 2,
    });
    const res = await service.app.inject({ method: "GET", url: "/allocations/order-1" });
    expect(res.json()).toEqual([{ sku: "LAMP", batchref: "lamp-1", qty: 3 }]);
  });

  it("moves an order to the later batch when the earlier one shrinks below it (the book's scenario)", async () => {
    await others.publish(
      batchRegisteredV1,
      { reference: "batch1", sku: "TABLE", qty: 50, eta: null },
      { reference: "batch2", sku: "TABLE", qty: 50, eta: "2030-01-02" },
    );
    await others.publish(orderPlacedV1, placed("order1", "TABLE", 20));
    await waitFor(() => others.about("order1").length === 1, { message: "order1 allocated" });
    expect(others.about("order1")[0]).toMatchObject({ batchref: "batch1" });

    await others.publish(batchQuantityChangedV1, {
      reference: "batch1",
      sku: "TABLE",
      qty: 10,
      reason: "damaged",
    });
    await waitFor(() => others.about("order1").length === 3, { message: "order1 reallocated" });
    expect(others.about("order1").map((e) => [e.subject, e.batchref, e.reason])).toEqual([
      ["allocation.line_allocated.v1", "batch1", undefined],
      ["allocation.line_deallocated.v1", "batch1", "batch_quantity_changed"],
      ["allocation.line_allocated.v1", "batch2", undefined],
    ]);
  });

  it("allocates a backorder from the stock a cancelled order frees", async () => {
    await others.publish(batchRegisteredV1, { reference: "sofa-1", sku: "SOFA", qty: 2, eta: null });
    await waitFor(() => productView("SOFA"), { message: "the SOFA batch" });
    // Orders of different ids are handled concurrently: place the second once the first holds the stock.
    await others.publish(orderPlacedV1, placed("keeps-it", "SOFA", 2));
    await waitFor(() => others.about("keeps-it").length === 1, { message: "the first order allocated" });
    await others.publish(orderPlacedV1, placed("waits", "SOFA", 2));
    await waitFor(() => others.about("waits").length === 1, { message: "the second order backordered" });
    expect(others.about("waits")[0]?.subject).toBe("allocation.out_of_stock.v1");

    await others.publish(orderCancelledV1, { orderId: "keeps-it", cancelledAt: new Date().toISOString() });
    await waitFor(() => others.about("waits").length === 2, { message: "the backorder allocated" });
    expect(others.about("keeps-it").at(-1)).toMatchObject({
      subject: "allocation.line_deallocated.v1",
      reason: "order_cancelled",
    });
    expect(others.about("waits")[1]).toMatchObject({
      subject: "allocation.line_allocated.v1",
      batchref: "sofa-1",
    });
  });

  it("never over-allocates 20 concurrent orders on one SKU, and serves the backorders oldest first", async () => {
    await others.publish(batchRegisteredV1, { reference: "chair-1", sku: "CHAIR", qty: 25, eta: null });
    await waitFor(() => productView("CHAIR"), { message: "the CHAIR batch" });
    const orders = Array.from({ length: 20 }, (_, i) => `rush-${i}`);
    await Promise.all(orders.map((orderId) => others.publish(orderPlacedV1, placed(orderId, "CHAIR", 3))));
    await waitFor(() => orders.every((o) => others.about(o).length > 0), {
      timeoutMs: 20_000,
      message: "20 answers",
    });

    const answers = orders.map((o) => others.about(o)[0]!);
    const allocated = answers.filter((e) => e.subject === "allocation.line_allocated.v1");
    expect(allocated).toHaveLength(8);
    expect(answers.filter((e) => e.subject === "allocation.out_of_stock.v1")).toHaveLength(12);
    const view = await productView("CHAIR");
    expect(view.batches).toEqual([{ reference: "chair-1", qty: 25, available: 1, eta: null }]);
    expect(view.backorders).toHaveLength(12);

    // The versions of one product's events are a strictly growing sequence, in publication order.
    const versions = others.observed.filter((e) => e.sku === "CHAIR").map((e) => e.version);
    expect(versions).toEqual([...versions].sort((a, b) => a - b));
    expect(new Set(versions).size).toBe(versions.length);

    const waiting = view.backorders.map((b: { orderId: string }) => b.orderId);
    await others.publish(batchRegisteredV1, {
      reference: "chair-2",
      sku: "CHAIR",
      qty: 36,
      eta: "2030-02-01",
    });
    await waitFor(() => waiting.every((o: string) => others.about(o).length === 2), {
      message: "backorders served",
    });
    const served = others.observed
      .filter(
        (e) => e.subject === "allocation.line_allocated.v1" && e.sku === "CHAIR" && e.batchref === "chair-2",
      )
      .map((e) => e.orderId);
    expect(served).toEqual(waiting);
  });
});
