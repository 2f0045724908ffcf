import { IncompleteProduct } from "./errors.js";
import type { AllocationEvent, DeallocationReason } from "./events.js";
import type { AllocationState, BackorderState, BatchState, ProductState } from "./state.js";

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

const bySince = (a: BackorderState, b: BackorderState) => a.since - b.since;

/**
 * One SKU: its batches with what is allocated in each, the order lines allocated to them
 * and the lines waiting for stock (backorders). It holds every batch but only the lines it
 * was given (see ProductState): deciding never needs the product's whole history. Every
 * method that changes something returns the events it produced and raises the version once
 * per event (at least once per change), so each event carries the version right after its
 * own change; `snapshot()` is the state it has come to (what is written is the adapters' business).
 */
export class Product {
  private readonly sku_: string;
  private version_: number;
  private readonly batchList: BatchState[];
  private readonly allocations = new Map<string, AllocationState>();
  private readonly waiting = new Map<string, BackorderState>();
  private readonly queueComplete: boolean;
  /** A new product holds every line it will ever have; a restored one, what it was given. */
  private readonly holdsEveryLine: boolean;
  private readonly linesOfBatch: string | undefined;

  private constructor(state: ProductState, holdsEveryLine = false) {
    this.holdsEveryLine = holdsEveryLine;
    this.sku_ = state.sku;
    this.version_ = state.version;
    this.batchList = state.batches.map((b) => ({ ...b }));
    for (const a of state.allocations) this.allocations.set(a.orderId, { ...a });
    for (const b of state.backorders) this.waiting.set(b.orderId, { ...b });
    this.queueComplete = state.queueComplete;
    this.linesOfBatch = state.linesOfBatch;
  }

  /** A product nobody has heard of yet: version 0, saved as new on its first change. */
  static create(sku: string): Product {
    return new Product(
      {
        sku,
        version: 0,
        batches: [],
        allocations: [],
        backorders: [],
        queueComplete: true,
      },
      true,
    );
  }

  static restore(state: ProductState): Product {
    return new Product(state);
  }

  get sku(): string {
    return this.sku_;
  }

  get version(): number {
    return this.version_;
  }

  snapshot(): ProductState {
    return {
      sku: this.sku_,
      version: this.version_,
      batches: this.batchList.map((b) => ({ ...b })),
      allocations: [...this.allocations.values()].map((a) => ({ ...a })),
      backorders: [...this.waiting.values()].map((b) => ({ ...b })),
      queueComplete: this.queueComplete,
    };
  }

  allocatedQuantity(reference: string): number {
    return this.batch(reference)?.allocated ?? 0;
  }

  availableQuantity(reference: string): number {
    const batch = this.batch(reference);
    return batch ? batch.qty - batch.allocated : 0;
  }

  /** Batches in preference order, with what is still free in each. */
  batches(): Array<BatchState & { available: number }> {
    return [...this.batchList].sort(preferred).map((b) => ({ ...b, available: b.qty - b.allocated }));
  }

  allocationOf(orderId: string): AllocationState | undefined {
    return this.allocations.get(orderId);
  }

  /** Waiting lines, oldest first (the whole queue when it was loaded whole). */
  backorders(): Array<{ orderId: string; qty: number }> {
    return [...this.waiting.values()].sort(bySince).map(({ orderId, qty }) => ({ orderId, qty }));
  }

  /** Allocates a line, or keeps it as a backorder; a line already known changes nothing. */
  allocate(line: OrderLine): AllocationEvent[] {
    if (this.allocations.has(line.orderId) || this.waiting.has(line.orderId)) return [];
    return [this.place(line)];
  }

  /** Frees the order's line (or drops its backorder), then serves backorders from what it freed. */
  cancel(orderId: string): AllocationEvent[] {
    const allocation = this.allocations.get(orderId);
    if (allocation) {
      return [this.deallocate(allocation, "order_cancelled"), ...this.serveBackorders()];
    }
    if (!this.waiting.has(orderId)) return [];
    this.dropBackorder(orderId);
    this.bump();
    return [];
  }

  /** A batch already known by its reference changes nothing (the warehouse may redeliver). */
  registerBatch(batch: NewBatch): AllocationEvent[] {
    if (this.batch(batch.reference)) return [];
    const added: BatchState = {
      reference: batch.reference,
      qty: batch.qty,
      eta: batch.eta,
      registeredAt: this.bump(),
      allocated: 0,
    };
    this.batchList.push(added);
    return this.serveBackorders();
  }

  /**
   * Sets a batch's quantity. When it drops below what is allocated, the most recently
   * allocated lines leave it until it fits, each placed again by the usual rules; when it
   * rises, backorders are served. A shrink needs the batch's newest lines, enough to cover
   * the excess; serving needs the whole queue.
   */
  changeBatchQuantity(reference: string, qty: number): AllocationEvent[] {
    const batch = this.batch(reference);
    if (!batch || batch.qty === qty) return [];
    batch.qty = qty;
    this.bump();
    const events: AllocationEvent[] = [];
    // A line moved off cannot come back while the batch is over-full, so the lines to move
    // are known before the first one moves.
    const newestFirst = [...this.allocations.values()]
      .filter((a) => a.batchref === reference)
      .sort((x, y) => y.allocatedAt - x.allocatedAt);
    for (const newest of newestFirst) {
      if (batch.allocated <= batch.qty) break;
      events.push(this.deallocate(newest, "batch_quantity_changed"));
      events.push(this.place({ orderId: newest.orderId, qty: newest.qty }));
    }
    if (batch.allocated > batch.qty) {
      throw new IncompleteProduct(this.sku_, `the newest allocations of batch ${reference}`);
    }
    return [...events, ...this.serveBackorders()];
  }

  /**
   * A new eta changes where future lines go; lines already allocated stay, and each is
   * announced again with its new eta. Needs every line of the batch (`linesOfBatch`).
   */
  delayShipment(reference: string, eta: string): AllocationEvent[] {
    const batch = this.batch(reference);
    if (!batch || batch.eta === eta) return [];
    if (!this.holdsEveryLine && this.linesOfBatch !== reference)
      throw new IncompleteProduct(this.sku_, `the lines of batch ${reference}`);
    batch.eta = eta;
    this.bump();
    return [...this.allocations.values()]
      .filter((a) => a.batchref === reference)
      .sort((x, y) => x.allocatedAt - y.allocatedAt)
      .map(({ orderId, qty }) => ({
        type: "line_delayed",
        orderId,
        sku: this.sku_,
        qty,
        batchref: reference,
        eta,
        version: this.bump(),
      }));
  }

  private batch(reference: string): BatchState | undefined {
    return this.batchList.find((b) => b.reference === reference);
  }

  private bump(): number {
    this.version_ += 1;
    return this.version_;
  }

  private chooseBatch(qty: number): BatchState | undefined {
    let best: BatchState | undefined;
    for (const b of this.batchList) {
      if (b.qty - b.allocated >= qty && (!best || preferred(b, best) < 0)) best = b;
    }
    return best;
  }

  /** Allocates to the preferred batch with room, or appends a backorder. */
  private place(line: OrderLine): AllocationEvent {
    const batch = this.chooseBatch(line.qty);
    const version = this.bump();
    if (!batch) {
      const backorder = { orderId: line.orderId, qty: line.qty, since: version };
      this.waiting.set(line.orderId, backorder);
      return { type: "out_of_stock", orderId: line.orderId, sku: this.sku_, qty: line.qty, version };
    }
    return this.allocateTo(batch, line, version);
  }

  private allocateTo(batch: BatchState, line: OrderLine, version: number): AllocationEvent {
    const allocation = {
      orderId: line.orderId,
      batchref: batch.reference,
      qty: line.qty,
      allocatedAt: version,
    };
    this.allocations.set(line.orderId, allocation);
    batch.allocated += line.qty;
    return {
      type: "line_allocated",
      orderId: line.orderId,
      sku: this.sku_,
      qty: line.qty,
      batchref: batch.reference,
      eta: batch.eta,
      version,
    };
  }

  private deallocate(allocation: AllocationState, reason: DeallocationReason): AllocationEvent {
    const { orderId, qty, batchref } = allocation;
    this.allocations.delete(orderId);
    const batch = this.batch(batchref);
    if (batch) {
      batch.allocated -= qty;
    }
    return { type: "line_deallocated", orderId, sku: this.sku_, qty, batchref, reason, version: this.bump() };
  }

  private dropBackorder(orderId: string): void {
    this.waiting.delete(orderId);
  }

  /**
   * Oldest backorder first; one that does not fit waits without blocking younger, smaller
   * ones behind it (a huge line must not starve the rest), and keeps its place in the queue.
   */
  private serveBackorders(): AllocationEvent[] {
    if (!this.queueComplete) throw new IncompleteProduct(this.sku_, "its backorder queue");
    const events: AllocationEvent[] = [];
    for (const line of [...this.waiting.values()].sort(bySince)) {
      const batch = this.chooseBatch(line.qty);
      if (!batch) continue;
      this.dropBackorder(line.orderId);
      events.push(this.allocateTo(batch, line, this.bump()));
    }
    return events;
  }
}
