import type {
  BatchQuantityChangedV1,
  BatchRegisteredV1,
  OrderCancelledV1,
  OrderPlacedV1,
  ShipmentDelayedV1,
} from "@stockflow/contracts";
import { annotateSpan } from "@stockflow/telemetry";
import type { AllocationEvent } from "../domain/events.js";
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
  const skus = [...new Set(orders.flatMap(({ event }) => event.lines.map((l) => l.sku)))];
  const products = await uow.products.getOrCreate(skus, {
    orderIds: orders.map(({ event }) => event.orderId),
  });
  const bySku = new Map(products.map((product) => [product.sku, product]));
  for (const { event, within } of orders) {
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
  const events: AllocationEvent[] = [];
  for (const product of await uow.products.withOrder(event.orderId, { queue: true })) {
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

export async function changeBatchQuantity(uow: UnitOfWork, event: BatchQuantityChangedV1): Promise<void> {
  annotateSpan({ sku: event.sku, batchRef: event.reference });
  const product = await uow.products.get(event.sku, {
    queue: true,
    resize: { reference: event.reference, qty: event.qty },
  });
  await uow.commit(product?.changeBatchQuantity(event.reference, event.qty) ?? []);
}

export async function delayShipment(uow: UnitOfWork, event: ShipmentDelayedV1): Promise<void> {
  annotateSpan({ sku: event.sku, batchRef: event.reference });
  const product = await uow.products.get(event.sku, { linesOfBatch: event.reference });
  await uow.commit(product?.delayShipment(event.reference, event.eta) ?? []);
}
