/**
 * What the warehouse must pick for one allocated order line from one batch. It follows
 * allocation's events: pending while the line is allocated to that batch, cancelled once it
 * is deallocated. An order line is (orderId, sku); with the batch it names one instruction.
 */
export interface DispatchInstruction {
  readonly orderId: string;
  readonly sku: string;
  readonly batchref: string;
  readonly qty: number;
  readonly status: DispatchStatus;
  /** The product version of the last allocation event applied. */
  readonly version: number;
}

export type DispatchStatus = "pending" | "cancelled";

export interface LineEvent {
  readonly orderId: string;
  readonly sku: string;
  readonly batchref: string;
  readonly qty: number;
  readonly version: number;
}

/**
 * The instruction after an event, or undefined when the event changes nothing. Product
 * versions grow with every change to the SKU, so an event no newer than the one already
 * applied is a redelivery or arrived out of order: the newer state wins.
 */
function apply(
  current: DispatchInstruction | undefined,
  event: LineEvent,
  status: DispatchStatus,
): DispatchInstruction | undefined {
  if (current && current.version >= event.version) return undefined;
  const { orderId, sku, batchref, qty, version } = event;
  return { orderId, sku, batchref, qty, status, version };
}

/**
 * A line was allocated to the batch: the instruction is pending. A line reallocated to a
 * batch it had a cancelled instruction for makes that instruction pending again.
 */
export const onLineAllocated = (current: DispatchInstruction | undefined, event: LineEvent) =>
  apply(current, event, "pending");

/**
 * A line was deallocated from the batch: its instruction is cancelled. When the deallocation
 * arrives before the allocation it undoes, the cancelled instruction is kept so that the
 * older allocation, arriving later, is recognised as stale.
 */
export const onLineDeallocated = (current: DispatchInstruction | undefined, event: LineEvent) =>
  apply(current, event, "cancelled");
