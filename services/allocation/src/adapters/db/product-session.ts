import type { ProductNeeds } from "../../app/ports.js";
import type { AllocationState, BackorderState, ProductState } from "../../domain/state.js";

/** The product as far as a transaction knows it. */
export interface Known {
  /** As stored now: read, or written by this transaction. */
  readonly state: ProductState;
  /** Orders whose lines on the product `state` holds every one of (none: no line). */
  readonly orders: ReadonlySet<string>;
}

/** A product recalled without a read, and the orders whose lines on it are assumed absent. */
export interface Recalled extends Known {
  readonly unread: readonly string[];
}

// Doubts are rare (an order placed twice under two message ids); past this many, forget them.
const MAX_DOUBTED = 10_000;

const pair = (sku: string, orderId: string) => `${sku}\u0000${orderId}`;

/**
 * What one transaction has read and written of each product. The ordering consumer handles
 * up to 64 messages in one transaction, and consecutive orders often share a SKU: the next
 * one starts from the state the previous one saved instead of reading the product again.
 * Within the transaction that state is what is stored (the save's row lock keeps other
 * writers out; a product only read may have moved, which its save's version check finds).
 *
 * An order's own lines on the product are what a recalled product may not know: it is served
 * on the assumption that the order has none there, and the save moves the product row only
 * if that holds. When it does not, the save fails like a lost race (ConcurrencyConflict: the
 * batch runs again in a new transaction) and the (product, order) pair is `doubted`, shared
 * by every session of the factory: it is never assumed again, so the retry reads its line.
 */
export class ProductSession {
  private readonly known = new Map<string, Known>();

  constructor(
    private readonly doubted: Set<string> = new Set(),
    private readonly cache?: ProductCache,
  ) {}

  /**
   * The product of `sku` as this transaction left it, when that serves `needs` without a read;
   * for an order's lines (`needs.orderIds`, a placed order), also as the process's committed
   * transactions left it (`cache`). Only there: an order recalled with its lines unread always
   * ends in a write that checks the version, or in a conflict (see saveChanges), whereas a
   * handler that finds nothing to change on a product another process has changed since (a
   * shipment delayed of a batch it does not know yet) would write nothing, and check nothing.
   */
  recall(sku: string, needs: ProductNeeds): Recalled | undefined {
    const known = this.known.get(sku) ?? (needs.orderIds?.length ? this.cache?.get(sku) : undefined);
    // The newest lines of a shrinking batch are read afresh every time.
    if (!known || needs.resize || needs.linesOfBatch || (needs.queue && !known.state.queueComplete))
      return undefined;
    const unread = (needs.orderIds ?? []).filter((orderId) => !known.orders.has(orderId));
    if (unread.some((orderId) => this.doubted.has(pair(sku, orderId)))) return undefined;
    return { ...known, unread };
  }

  /**
   * What a read found, with what the transaction knew of the product when it has not moved
   * since (every change raises the version, so the same version is the same rows).
   */
  read(state: ProductState, orderIds: readonly string[]): Known {
    const known = this.known.get(state.sku);
    const read =
      known && known.state.version === state.version
        ? { state: merged(known.state, state), orders: new Set([...known.orders, ...orderIds]) }
        : { state, orders: new Set(orderIds) };
    this.known.set(state.sku, read);
    return read;
  }

  /** What a save wrote: `state` is stored now. */
  wrote(state: ProductState, orders: ReadonlySet<string>): void {
    this.known.set(state.sku, { state, orders });
  }

  /**
   * A save found a line of an order it assumed had none, or lost a race: read the pairs from
   * now on, and the product too (what the process remembered of it is out of date).
   */
  doubt(sku: string, orderIds: readonly string[]): void {
    this.cache?.forget(sku);
    if (this.doubted.size + orderIds.length > MAX_DOUBTED) this.doubted.clear();
    for (const orderId of orderIds) this.doubted.add(pair(sku, orderId));
  }

  /** Once the transaction committed: what it knew is what the process remembers. */
  committed(): void {
    for (const { state } of this.known.values()) this.cache?.remember(state);
  }
}

/**
 * The products as this process's committed transactions left them, so that the next
 * transaction starts from them without a read: batches and version only (no order's lines,
 * no queue), at most `max` SKUs, the least recently remembered forgotten first. Nothing
 * here is trusted: a save moves a product row only from the version it started from, so a
 * product another writer changed since (another replica, or a concurrent transaction of this
 * one) fails its save like a lost race, is forgotten, and is read on the retry.
 */
export class ProductCache {
  private readonly products = new Map<string, Known>();

  constructor(private readonly max = 10_000) {}

  get(sku: string): Known | undefined {
    return this.products.get(sku);
  }

  /** A committed state; an older one than what is held (commits seen out of order) is dropped. */
  remember(state: ProductState): void {
    const held = this.products.get(state.sku);
    if (held && held.state.version >= state.version) return;
    this.products.delete(state.sku);
    this.products.set(state.sku, {
      state: {
        sku: state.sku,
        version: state.version,
        batches: state.batches.map((b) => ({ ...b })),
        allocations: [],
        backorders: [],
        queueComplete: false,
      },
      orders: new Set(),
    });
    if (this.products.size > this.max) {
      const oldest = this.products.keys().next().value;
      if (oldest !== undefined) this.products.delete(oldest);
    }
  }

  forget(sku: string): void {
    this.products.delete(sku);
  }
}

/** Two reads of one product version: every row either holds. */
function merged(a: ProductState, b: ProductState): ProductState {
  const union = <T extends AllocationState | BackorderState>(x: T[], y: T[]) => [
    ...new Map([...x, ...y].map((row) => [row.orderId, row])).values(),
  ];
  return {
    ...b,
    allocations: union(a.allocations, b.allocations),
    backorders: union(a.backorders, b.backorders),
    queueComplete: a.queueComplete || b.queueComplete,
  };
}
