export type { Batch, DelayOutcome } from "./batch.js";
export { delayShipment, newBatch, reportDamage } from "./batch.js";
export type { DispatchInstruction, DispatchStatus, LineEvent } from "./dispatch-instruction.js";
export { onLineAllocated, onLineDeallocated } from "./dispatch-instruction.js";
export { DamageExceedsQuantity, DomainError, EtaNotLater, InvalidQuantity } from "./errors.js";
