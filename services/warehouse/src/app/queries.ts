import type { Batch, DispatchInstruction } from "../domain/index.js";

/** Reads for the HTTP API; they need no transaction of their own. */
export interface Queries {
  batch(reference: string): Promise<Batch | undefined>;
  batchesOf(sku: string): Promise<Batch[]>;
  dispatchesOf(orderId: string): Promise<DispatchInstruction[]>;
}
