import { batchQuantityChangedV1, batchRegisteredV1, shipmentDelayedV1 } from "@stockflow/contracts";
import { type Batch, delayShipment, newBatch, reportDamage } from "../domain/index.js";
import { BatchExists, BatchNotFound } from "./errors.js";
import type { UnitOfWork, Work } from "./ports.js";

export interface RegisterBatch {
  reference: string;
  sku: string;
  qty: number;
  eta: string | null;
}

export interface ReportDamage {
  reference: string;
  qty: number;
  reason?: string | undefined;
}

export interface DelayShipment {
  reference: string;
  eta: string;
}

/** The reason sent with batch_quantity_changed when staff give none. */
export const DEFAULT_DAMAGE_REASON = "damaged";

async function lockedBatch(work: Work, reference: string): Promise<Batch> {
  const batch = await work.batches.getForUpdate(reference);
  if (!batch) throw new BatchNotFound(reference);
  return batch;
}

export async function registerBatch(uow: UnitOfWork, cmd: RegisterBatch): Promise<Batch> {
  const batch = newBatch(cmd.reference, cmd.sku, cmd.qty, cmd.eta);
  return uow.run(async (work) => {
    if (!(await work.batches.add(batch))) throw new BatchExists(batch.reference);
    await work.events.enqueue(batchRegisteredV1, { ...batch });
    return batch;
  });
}

export async function reportBatchDamage(uow: UnitOfWork, cmd: ReportDamage): Promise<Batch> {
  return uow.run(async (work) => {
    const batch = reportDamage(await lockedBatch(work, cmd.reference), cmd.qty);
    await work.batches.update(batch);
    const { reference, sku, qty } = batch;
    await work.events.enqueue(batchQuantityChangedV1, {
      reference,
      sku,
      qty,
      reason: cmd.reason ?? DEFAULT_DAMAGE_REASON,
    });
    return batch;
  });
}

/** Delays the shipment; delaying to the date it already has answers the batch and publishes nothing. */
export async function delayBatchShipment(uow: UnitOfWork, cmd: DelayShipment): Promise<Batch> {
  return uow.run(async (work) => {
    const current = await lockedBatch(work, cmd.reference);
    const outcome = delayShipment(current, cmd.eta);
    if (!outcome.changed) return current;
    await work.batches.update(outcome.batch);
    const { reference, sku } = outcome.batch;
    await work.events.enqueue(shipmentDelayedV1, { reference, sku, eta: cmd.eta });
    return outcome.batch;
  });
}
