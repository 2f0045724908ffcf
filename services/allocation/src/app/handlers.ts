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

/** Every line of a placed order is allocated or backordered; lines of several SKUs touch several products. */
export async function allocate(uow: UnitOfWork, event: OrderPlacedV1): Promise<void> {
  annotateSpan({ orderId: event.orderId, sku: event.lines.length === 1 ? event.lines[0]?.sku : undefined });
  const products = await uow.products.getOrCreate(
    event.lines.map((l) => l.sku),
    { orderIds: [event.orderId] },
  );
  const events = event.lines.flatMap((line, i) =>
    products[i]!.allocate({ orderId: event.orderId, qty: line.qty }),
  );
  await uow.commit(events);
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
  const product = await uow.products.get(event.sku);
  await uow.commit(product?.delayShipment(event.reference, event.eta) ?? []);
}
