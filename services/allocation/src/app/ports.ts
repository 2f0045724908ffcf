import type { AllocationEvent } from "../domain/events.js";
import type { Product } from "../domain/product.js";

/** Products loaded in one unit of work; the same SKU asked twice gives the same object. */
export interface ProductRepository {
  /** The product of this SKU, or undefined when nothing is known about it. */
  get(sku: string): Promise<Product | undefined>;
  /** The product of this SKU, a new empty one (version 0) when nothing is known about it. */
  getOrCreate(sku: string): Promise<Product>;
  /** Every product holding a line of this order, allocated or waiting. */
  withOrder(orderId: string): Promise<Product[]>;
}

/**
 * One handler's changes. `commit` saves every product changed through `products`
 * (throwing ConcurrencyConflict when another writer got there first) and queues `events`
 * for publication in the order given, all in the transaction the unit runs in.
 */
export interface UnitOfWork {
  readonly products: ProductRepository;
  commit(events: readonly AllocationEvent[]): Promise<void>;
}

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
