import type { LineAllocatedV1, LineDeallocatedV1 } from "@stockflow/contracts";
import {
  type DispatchInstruction,
  type LineEvent,
  onLineAllocated,
  onLineDeallocated,
} from "../domain/index.js";
import type { LineKey, Work } from "./ports.js";

/** An allocation event about a line, as dispatch instructions follow it. */
export type LineChange =
  | { readonly kind: "allocated"; readonly event: LineEvent }
  | { readonly kind: "deallocated"; readonly event: LineEvent };

const transitions = { allocated: onLineAllocated, deallocated: onLineDeallocated };

// NUL cannot occur in PostgreSQL text, so it cannot blur two keys into one.
const keyOf = ({ orderId, sku, batchref }: LineKey) => `${orderId}\u0000${sku}\u0000${batchref}`;

/**
 * Applies line events in the order given with one read (locking the instructions they name)
 * and one write: events about one instruction follow each other in memory, as they would one
 * transaction each. Consumers already run in the messaging kit's transaction (the inbox row
 * commits with the change), so this takes the Work of that transaction rather than opening
 * its own.
 */
export async function followLines(work: Work, changes: readonly LineChange[]): Promise<void> {
  const current = new Map<string, DispatchInstruction>();
  for (const d of await work.dispatches.getManyForUpdate(changes.map((c) => c.event))) {
    current.set(keyOf(d), d);
  }
  const changed = new Map<string, DispatchInstruction>();
  for (const { kind, event } of changes) {
    const key = keyOf(event);
    const next = transitions[kind](current.get(key), event);
    if (!next) continue;
    current.set(key, next);
    changed.set(key, next);
  }
  if (changed.size > 0) await work.dispatches.saveMany([...changed.values()]);
}

/** allocation.line_allocated.v1: the line is to be dispatched from that batch. */
export const lineAllocated = (work: Work, event: LineAllocatedV1) =>
  followLines(work, [{ kind: "allocated", event }]);

/** allocation.line_deallocated.v1: the line is no longer to be dispatched from that batch. */
export const lineDeallocated = (work: Work, event: LineDeallocatedV1) =>
  followLines(work, [{ kind: "deallocated", event }]);
