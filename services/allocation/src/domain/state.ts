/**
 * The Product aggregate as plain data: what the repository loads and what the aggregate
 * starts from. Every "…At"/"since" number is the product version at which that thing
 * happened, which gives a total order per product without reading a clock.
 *
 * A product's history (every line ever allocated) is not part of it: a change is decided
 * on the batches with their allocated totals plus only the lines it needs (see ProductState).
 */
export interface BatchState {
  readonly reference: string;
  qty: number;
  /** `YYYY-MM-DD` of an incoming shipment; null for stock on hand. */
  eta: string | null;
  readonly registeredAt: number;
  /** The sum of the quantities of the lines allocated to it now. */
  allocated: number;
}

export interface AllocationState {
  readonly orderId: string;
  readonly batchref: string;
  readonly qty: number;
  readonly allocatedAt: number;
}

export interface BackorderState {
  readonly orderId: string;
  readonly qty: number;
  readonly since: number;
}

export interface ProductState {
  readonly sku: string;
  version: number;
  /** Every batch of the SKU. */
  batches: BatchState[];
  /**
   * The allocated lines this state was given: the lines a change reads (the order's own,
   * the newest of a shrinking batch), not necessarily every line of the product.
   */
  allocations: AllocationState[];
  /** The waiting lines this state was given; every one of them when `queueComplete`. */
  backorders: BackorderState[];
  /** Whether `backorders` is the whole queue, which serving backorders needs. */
  queueComplete: boolean;
  /** A batch whose allocated lines are all in `allocations` (a delay announces each). */
  linesOfBatch?: string;
}
