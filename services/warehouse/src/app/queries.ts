import type { Batch, DispatchInstruction } from "../domain/index.js";

/** Reads for the HTTP API; they need no transaction of their own. */
export interface Queries {
  batch(reference: string): Promise<Batch | undefined>;
  dispatchesOf(orderId: string): Promise<DispatchInstruction[]>;
}
