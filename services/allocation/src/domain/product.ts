import type { AllocationEvent, DeallocationReason } from "./events.js";
import { type AllocationState, type BatchState, cloneState, type ProductState } from "./state.js";

export interface OrderLine {
  readonly orderId: string;
  readonly qty: number;
}

export interface NewBatch {
  readonly reference: string;
  readonly qty: number;
  readonly eta: string | null;
}

/** Stock on hand first, then the earliest shipment; ties go to the batch registered first. */
function preferred(a: BatchState, b: BatchState): number {
  if (a.eta !== b.eta) {
    if (a.eta === null) return -1;
    if (b.eta === null) return 1;
    return a.eta < b.eta ? -1 : 1;
  }
  return a.registeredAt - b.registeredAt;
}

/**
 * One SKU: its batches, which order lines are allocated to which batch, and the lines
 * waiting for stock (backorders). Every method that changes something returns the events
 * it produced and raises the version once per event (at least once per change), so each
 * event carries the version right after its own change.
 */
export class Product {
  private readonly s: ProductState;

  private constructor(state: ProductState) {
    this.s = state;
  }

  /** A product nobody has heard of yet: version 0, saved as new on its first change. */
  static create(sku: string): Product {
    return new Product({ sku, version: 0, batches: [], allocations: [], backorders: [] });
  }

  static restore(state: ProductState): Product {
    return new Product(cloneState(state));
  }

  get sku(): string {
    return this.s.sku;
  }

  get version(): number {
    return this.s.version;
  }

  snapshot(): ProductState {
    return cloneState(this.s);
  }

  allocatedQuantity(reference: string): number {
    let sum = 0;
    for (const a of this.s.allocations) if (a.batchref === reference) sum += a.qty;
    return sum;
  }

  availableQuantity(reference: string): number {
    const batch = this.batch(reference);
    return batch ? batch.qty - this.allocatedQuantity(reference) : 0;
  }

  /** Batches in preference order, with what is still free in each. */
  batches(): Array<BatchState & { available: number }> {
    return [...this.s.batches]
      .sort(preferred)
      .map((b) => ({ ...b, available: b.qty - this.allocatedQuantity(b.reference) }));
  }

  allocationOf(orderId: string): AllocationState | undefined {
    return this.s.allocations.find((a) => a.orderId === orderId);
  }

  /** Waiting lines, oldest first. */
  backorders(): Array<{ orderId: string; qty: number }> {
    return [...this.s.backorders]
      .sort((a, b) => a.since - b.since)
      .map(({ orderId, qty }) => ({ orderId, qty }));
  }

  /** Allocates a line, or keeps it as a backorder; a line already known changes nothing. */
  allocate(line: OrderLine): AllocationEvent[] {
    if (this.allocationOf(line.orderId) || this.backorderOf(line.orderId)) return [];
    return [this.place(line)];
  }

  /** Frees the order's line (or drops its backorder), then serves backorders from what it freed. */
  cancel(orderId: string): AllocationEvent[] {
    const allocation = this.allocationOf(orderId);
    if (allocation) {
      return [this.deallocate(allocation, "order_cancelled"), ...this.serveBackorders()];
    }
    const backorder = this.backorderOf(orderId);
    if (!backorder) return [];
    this.s.backorders = this.s.backorders.filter((b) => b !== backorder);
    this.bump();
    return [];
  }

  /** A batch already known by its reference changes nothing (the warehouse may redeliver). */
  registerBatch(batch: NewBatch): AllocationEvent[] {
    if (this.batch(batch.reference)) return [];
    this.s.batches.push({
      reference: batch.reference,
      qty: batch.qty,
      eta: batch.eta,
      registeredAt: this.bump(),
    });
    return this.serveBackorders();
  }

  /**
   * Sets a batch's quantity. When it drops below what is allocated, the most recently
   * allocated lines leave it until it fits, each placed again by the usual rules; when it
   * rises, backorders are served.
   */
  changeBatchQuantity(reference: string, qty: number): AllocationEvent[] {
    const batch = this.batch(reference);
    if (!batch || batch.qty === qty) return [];
    batch.qty = qty;
    this.bump();
    const events: AllocationEvent[] = [];
    while (this.allocatedQuantity(reference) > batch.qty) {
      const newest = this.newestAllocationIn(reference)!;
      events.push(this.deallocate(newest, "batch_quantity_changed"));
      events.push(this.place({ orderId: newest.orderId, qty: newest.qty }));
    }
    return [...events, ...this.serveBackorders()];
  }

  /** A new eta only changes where future lines go; lines already allocated stay. */
  delayShipment(reference: string, eta: string): AllocationEvent[] {
    const batch = this.batch(reference);
    if (!batch || batch.eta === eta) return [];
    batch.eta = eta;
    this.bump();
    return [];
  }

  private batch(reference: string): BatchState | undefined {
    return this.s.batches.find((b) => b.reference === reference);
  }

  private backorderOf(orderId: string) {
    return this.s.backorders.find((b) => b.orderId === orderId);
  }

  private newestAllocationIn(reference: string): AllocationState | undefined {
    let newest: AllocationState | undefined;
    for (const a of this.s.allocations) {
      if (a.batchref === reference && (!newest || a.allocatedAt > newest.allocatedAt)) newest = a;
    }
    return newest;
  }

  private bump(): number {
    this.s.version += 1;
    return this.s.version;
  }

  private chooseBatch(qty: number): BatchState | undefined {
    return [...this.s.batches]
      .sort(preferred)
      .find((b) => b.qty - this.allocatedQuantity(b.reference) >= qty);
  }

  /** Allocates to the preferred batch with room, or appends a backorder. */
  private place(line: OrderLine): AllocationEvent {
    const batch = this.chooseBatch(line.qty);
    const version = this.bump();
    if (!batch) {
      this.s.backorders.push({ orderId: line.orderId, qty: line.qty, since: version });
      return { type: "out_of_stock", orderId: line.orderId, sku: this.sku, qty: line.qty, version };
    }
    this.s.allocations.push({
      orderId: line.orderId,
      batchref: batch.reference,
      qty: line.qty,
      allocatedAt: version,
    });
    return {
      type: "line_allocated",
      orderId: line.orderId,
      sku: this.sku,
      qty: line.qty,
      batchref: batch.reference,
      version,
    };
  }

  private deallocate(allocation: AllocationState, reason: DeallocationReason): AllocationEvent {
    this.s.allocations = this.s.allocations.filter((a) => a !== allocation);
    const { orderId, qty, batchref } = allocation;
    return { type: "line_deallocated", orderId, sku: this.sku, qty, batchref, reason, version: this.bump() };
  }

  /**
   * Oldest backorder first; one that does not fit waits without blocking younger, smaller
   * ones behind it (a huge line must not starve the rest), and keeps its place in the queue.
   */
  private serveBackorders(): AllocationEvent[] {
    const events: AllocationEvent[] = [];
    for (const waiting of [...this.s.backorders].sort((a, b) => a.since - b.since)) {
      const batch = this.chooseBatch(waiting.qty);
      if (!batch) continue;
      this.s.backorders = this.s.backorders.filter((b) => b !== waiting);
      const version = this.bump();
      this.s.allocations.push({
        orderId: waiting.orderId,
        batchref: batch.reference,
        qty: waiting.qty,
        allocatedAt: version,
      });
      events.push({
        type: "line_allocated",
        orderId: waiting.orderId,
        sku: this.sku,
        qty: waiting.qty,
        batchref: batch.reference,
        version,
      });
    }
    return events;
  }
}
