/**
 * What the Product aggregate decides, returned by its methods (never thrown, never
 * published from here). `version` is the product's version right after the change.
 */
export interface LineAllocated {
  readonly type: "line_allocated";
  readonly orderId: string;
  readonly sku: string;
  readonly qty: number;
  readonly batchref: string;
  /** The batch's eta: null for stock on hand. */
  readonly eta: string | null;
  readonly version: number;
}

/** A line stays on its batch, whose shipment is now due later: the line's new eta. */
export interface LineDelayed {
  readonly type: "line_delayed";
  readonly orderId: string;
  readonly sku: string;
  readonly qty: number;
  readonly batchref: string;
  readonly eta: string;
  readonly version: number;
}

export type DeallocationReason = "batch_quantity_changed" | "order_cancelled";

export interface LineDeallocated {
  readonly type: "line_deallocated";
  readonly orderId: string;
  readonly sku: string;
  readonly qty: number;
  readonly batchref: string;
  readonly reason: DeallocationReason;
  readonly version: number;
}

export interface OutOfStock {
  readonly type: "out_of_stock";
  readonly orderId: string;
  readonly sku: string;
  readonly qty: number;
  readonly version: number;
}

export type AllocationEvent = LineAllocated | LineDelayed | LineDeallocated | OutOfStock;
