import type {
  BatchQuantityChangedV1,
  BatchRegisteredV1,
  OrderCancelledV1,
  OrderPlacedV1,
  ShipmentDelayedV1,
} from "@stockflow/contracts";
import { annotateSpan } from "@stockflow/telemetry";
import type { AllocationEvent } from "../domain/events.js";
import type { Product } from "../domain/product.js";
import { BatchNotRegistered } from "./batch-not-registered.js";
import type { UnitOfWork } from "./ports.js";

// One function per incoming event: load the products, let the domain decide, commit the
// products and their events together. None of them knows NATS exists.

/** A placed order as a batch hands it over: `within` runs code in the order's own trace context. */
export interface PlacedOrder {
  readonly event: OrderPlacedV1;
  within<T>(fn: () => T): T;
}

/** Every line of a placed order is allocated or backordered; lines of several SKUs touch several products. */
export function allocate(uow: UnitOfWork, event: OrderPlacedV1): Promise<void> {
  return allocateAll(uow, [{ event, within: (fn) => fn() }]);
}

/**
 * Placed orders one after another, as `allocate` would one each, but with every product
 * they touch read at once and saved at once (a statement per product), with all their events:
 * a run of orders costs the round trips of one.
 */
export async function allocateAll(uow: UnitOfWork, orders: readonly PlacedOrder[]): Promise<void> {
  const orderIds = orders.map(({ event }) => event.orderId);
  const skus = [...new Set(orders.flatMap(({ event }) => event.lines.map((l) => l.sku)))];
  // Sent together: the order records' locks come first, so a cancellation racing in another
  // replica either committed before (its tombstone is answered) or waits for this commit.
  const placing = uow.orders.place(orderIds);
  const loading = uow.products.getOrCreate(skus, { orderIds });
  const cancelled = await placing.catch(async (err) => {
    await loading.catch(() => {});
    throw err;
  });
  const bySku = new Map((await loading).map((product) => [product.sku, product]));
  for (const { event, within } of orders) {
    // Cancelled before its placement arrived: nothing to allocate, nothing to tell.
    if (cancelled.has(event.orderId)) continue;
    within(() => {
      annotateSpan({
        orderId: event.orderId,
        sku: event.lines.length === 1 ? event.lines[0]?.sku : undefined,
      });
      uow.stage(
        event.lines.flatMap((line) =>
          bySku.get(line.sku)!.allocate({ orderId: event.orderId, qty: line.qty }),
        ),
      );
    });
  }
  await uow.commit([]);
}

export async function cancelOrder(uow: UnitOfWork, event: OrderCancelledV1): Promise<void> {
  annotateSpan({ orderId: event.orderId });
  // The tombstone first: a placement handled later allocates nothing, and one being handled
  // now in another replica commits before the read below, which then finds its lines.
  const cancelling = uow.orders.cancel(event.orderId);
  const loading = uow.products.withOrder(event.orderId, { queue: true });
  await cancelling.catch(async (err) => {
    await loading.catch(() => {});
    throw err;
  });
  const events: AllocationEvent[] = [];
  for (const product of await loading) {
    events.push(...product.cancel(event.orderId));
  }
  await uow.commit(events);
}

export async function registerBatch(uow: UnitOfWork, event: BatchRegisteredV1): Promise<void> {
  annotateSpan({ sku: event.sku, batchRef: event.reference });
  const [product] = await uow.products.getOrCreate([event.sku], { queue: true });
  if (!product) return;
  await uow.commit(product.registerBatch({ reference: event.reference, qty: event.qty, eta: event.eta }));
}

/**
 * Where a batch's news sits in the stream that brought it (the stream sequence): news older
 * than the last of its kind applied to the batch is stale. Absent, news is taken as newest.
 */
export type NewsPosition = number | undefined;

/** Stale news changes nothing; news of a batch not registered yet fails, to be retried. */
async function batchToChange(
  uow: UnitOfWork,
  product: Product | undefined,
  news: { reference: string; kind: "quantity" | "eta"; position: NewsPosition },
): Promise<Product | undefined> {
  if (!product?.batches().some((b) => b.reference === news.reference)) {
    throw new BatchNotRegistered(news.reference);
  }
  if (news.position === undefined) return product;
  return (await uow.batchNews.isNewest(news.reference, news.kind, news.position)) ? product : undefined;
}

export async function changeBatchQuantity(
  uow: UnitOfWork,
  event: BatchQuantityChangedV1,
  position?: NewsPosition,
): Promise<void> {
  annotateSpan({ sku: event.sku, batchRef: event.reference });
  const loaded = await uow.products.get(event.sku, {
    queue: true,
    resize: { reference: event.reference, qty: event.qty },
  });
  const product = await batchToChange(uow, loaded, {
    reference: event.reference,
    kind: "quantity",
    position,
  });
  await uow.commit(product?.changeBatchQuantity(event.reference, event.qty) ?? []);
}

export async function delayShipment(
  uow: UnitOfWork,
  event: ShipmentDelayedV1,
  position?: NewsPosition,
): Promise<void> {
  annotateSpan({ sku: event.sku, batchRef: event.reference });
  const loaded = await uow.products.get(event.sku, { linesOfBatch: event.reference });
  const product = await batchToChange(uow, loaded, { reference: event.reference, kind: "eta", position });
  await uow.commit(product?.delayShipment(event.reference, event.eta) ?? []);
}
