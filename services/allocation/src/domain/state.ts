/**
 * The Product aggregate as plain data: what the repository loads and saves.
 * Every "…At"/"since" number is the product version at which that thing happened,
 * which gives a total order per product without reading a clock.
 */
export interface BatchState {
  readonly reference: string;
  qty: number;
  /** `YYYY-MM-DD` of an incoming shipment; null for stock on hand. */
  eta: string | null;
  readonly registeredAt: number;
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
  batches: BatchState[];
  allocations: AllocationState[];
  backorders: BackorderState[];
}

/** A deep copy, so a saved snapshot cannot be changed through the live aggregate. */
export function cloneState(s: ProductState): ProductState {
  return {
    sku: s.sku,
    version: s.version,
    batches: s.batches.map((b) => ({ ...b })),
    allocations: s.allocations.map((a) => ({ ...a })),
    backorders: s.backorders.map((b) => ({ ...b })),
  };
}
