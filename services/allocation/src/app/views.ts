/** The read side: what the HTTP API shows, read straight from the tables. */
export interface AllocatedLine {
  sku: string;
  batchref: string;
  qty: number;
}

export interface ProductView {
  sku: string;
  version: number;
  /** In the order allocation prefers them. */
  batches: Array<{ reference: string; qty: number; available: number; eta: string | null }>;
  /** Oldest first: the order they will be served in. */
  backorders: Array<{ orderId: string; qty: number }>;
}

export interface AllocationViews {
  /** Lines of the order allocated now; empty when none. */
  allocationsOf(orderId: string): Promise<AllocatedLine[]>;
  product(sku: string): Promise<ProductView | undefined>;
}
