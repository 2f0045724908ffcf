import type { Contract, EventOf } from "@stockflow/contracts";
import type { Batch, DispatchInstruction } from "../domain/index.js";

export interface BatchRepository {
  get(reference: string): Promise<Batch | undefined>;
  /** The SKU's batches: stock on hand first, then shipments by eta, then by registration. */
  listBySku(sku: string): Promise<Batch[]>;
  /** Reads the batch and locks it until the unit of work ends, so two changes cannot both pass a check. */
  getForUpdate(reference: string): Promise<Batch | undefined>;
  /** Stores a new batch; false when the reference is already taken (also by a concurrent insert). */
  add(batch: Batch): Promise<boolean>;
  update(batch: Batch): Promise<void>;
}

export interface LineKey {
  readonly orderId: string;
  readonly sku: string;
  readonly batchref: string;
}

export interface DispatchRepository {
  /**
   * Reads the instructions of these keys that exist and locks them until the unit of work
   * ends. A missing key is not locked: saveMany's version guard settles a race on it.
   */
  getManyForUpdate(keys: readonly LineKey[]): Promise<DispatchInstruction[]>;
  /** Creates or updates the instructions (each key once), unless the stored one is as new. */
  saveMany(instructions: readonly DispatchInstruction[]): Promise<void>;
  listByOrder(orderId: string): Promise<DispatchInstruction[]>;
}

/** Events written in the same transaction as the change that produced them (the outbox). */
export interface EventSink {
  enqueue<C extends Contract>(contract: C, payload: EventOf<C>): Promise<string>;
}

/** Everything a handler may touch inside one transaction. */
export interface Work {
  readonly batches: BatchRepository;
  readonly dispatches: DispatchRepository;
  readonly events: EventSink;
}

export interface UnitOfWork {
  /** Runs `fn` in one transaction: it commits when `fn` resolves and rolls back when it throws. */
  run<T>(fn: (work: Work) => Promise<T>): Promise<T>;
}
