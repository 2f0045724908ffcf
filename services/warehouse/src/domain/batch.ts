import { DamageExceedsQuantity, EtaNotLater, InvalidQuantity } from "./errors.js";

/** Stock of one SKU under one reference: on hand when `eta` is null, else a shipment due that day. */
export interface Batch {
  readonly reference: string;
  readonly sku: string;
  /** Units the batch holds now (damage lowers it; it may reach 0). */
  readonly qty: number;
  /** `YYYY-MM-DD`, or null for stock on hand. */
  readonly eta: string | null;
}

export type DelayOutcome = { readonly changed: true; readonly batch: Batch } | { readonly changed: false };

function assertPositive(qty: number): void {
  if (!Number.isInteger(qty) || qty < 1) throw new InvalidQuantity(qty);
}

export function newBatch(reference: string, sku: string, qty: number, eta: string | null): Batch {
  assertPositive(qty);
  return { reference, sku, qty, eta };
}

/** Takes damaged units out of the batch; more than it holds is refused. */
export function reportDamage(batch: Batch, damaged: number): Batch {
  assertPositive(damaged);
  if (damaged > batch.qty) throw new DamageExceedsQuantity(batch.reference, damaged, batch.qty);
  return { ...batch, qty: batch.qty - damaged };
}

/**
 * Moves the batch's arrival to `eta`. Stock on hand may be delayed (it turned out not to be
 * here yet and becomes a shipment). A shipment may only move later; the same date again is
 * a retried request and changes nothing. Dates are `YYYY-MM-DD`, so string order is date order.
 */
export function delayShipment(batch: Batch, eta: string): DelayOutcome {
  if (batch.eta === eta) return { changed: false };
  if (batch.eta !== null && eta < batch.eta) throw new EtaNotLater(batch.reference, batch.eta, eta);
  return { changed: true, batch: { ...batch, eta } };
}
