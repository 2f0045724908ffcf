import type { AllocationEvent } from "../domain/events.js";
import type { Product } from "../domain/product.js";

/**
 * What a change reads of a product besides its version and batches (always loaded). A
 * product is never loaded whole: its cost would grow with every order ever allocated.
 */
export interface ProductNeeds {
  /** The lines of these orders on the product, allocated or waiting (idempotency, cancel). */
  readonly orderIds?: readonly string[];
  /** The whole backorder queue: needed by every change that may free or add stock. */
  readonly queue?: boolean;
  /** A batch about to be set to `qty`: its newest allocations, enough to bring it down to `qty`. */
  readonly resize?: { readonly reference: string; readonly qty: number };
  /** Every line allocated to this batch (a delayed shipment announces each of them). */
  readonly linesOfBatch?: string;
}

/**
 * Products loaded in one unit of work; the same SKU asked twice gives the same object (the
 * needs of its first load stand). Units of one transaction may start from what an earlier
 * one read or wrote instead of reading again; what they decide is what a fresh read gives.
 */
export interface ProductRepository {
  /** The product of this SKU, or undefined when nothing is known about it. */
  get(sku: string, needs?: ProductNeeds): Promise<Product | undefined>;
  /** The product of each SKU, in the order given; a new empty one (version 0) for an unknown SKU. */
  getOrCreate(skus: readonly string[], needs?: ProductNeeds): Promise<Product[]>;
  /** Every product holding a line of this order, allocated or waiting, with that line. */
  withOrder(orderId: string, needs?: Omit<ProductNeeds, "orderIds">): Promise<Product[]>;
}

/**
 * What allocation knows of each order apart from its lines, so that a placement and its
 * cancellation end the same whichever is handled first, and never both at once.
 */
export interface OrderRecords {
  /**
   * Records these orders as placed (a record that exists stays as it is), each locked until
   * the transaction ends; answers those already cancelled, whose placement must allocate nothing.
   */
  place(orderIds: readonly string[]): Promise<ReadonlySet<string>>;
  /** Records the order as cancelled for good, locked until the transaction ends. */
  cancel(orderId: string): Promise<void>;
}

/** The position of the last news of each kind applied to each batch. */
export interface BatchNews {
  /**
   * Whether news of this kind about the batch, at this position of its stream, is newer than
   * every one applied; if so it is recorded (and the record locked until the transaction ends).
   */
  isNewest(reference: string, kind: "quantity" | "eta", position: number): Promise<boolean>;
}

/**
 * One handler's changes. `commit` saves every product changed through `products` and queues
 * the staged events, then `events`, for publication in the order given, all in the transaction the unit runs in. It
 * throws ConcurrencyConflict when another writer got there first: the transaction must then
 * be rolled back (what was sent with the save may have been written) and handled again.
 */
export interface UnitOfWork {
  readonly products: ProductRepository;
  readonly orders: OrderRecords;
  readonly batchNews: BatchNews;
  /**
   * Queues `events` for the next commit, made into what is published now: validated, and
   * in the trace context current now (a batch stages each message's events in its own).
   */
  stage(events: readonly AllocationEvent[]): void;
  commit(events: readonly AllocationEvent[]): Promise<void>;
}

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
