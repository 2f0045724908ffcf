import type { LineAllocatedV1, LineDeallocatedV1 } from "@stockflow/contracts";
import {
  type DispatchInstruction,
  type LineEvent,
  onLineAllocated,
  onLineDeallocated,
} from "../domain/index.js";
import type { Work } from "./ports.js";

type Transition = (
  current: DispatchInstruction | undefined,
  event: LineEvent,
) => DispatchInstruction | undefined;

// Consumers already run in the messaging kit's transaction (the inbox row commits with the
// change), so these take the Work of that transaction rather than opening their own.
async function follow(work: Work, event: LineEvent, transition: Transition): Promise<void> {
  const next = transition(await work.dispatches.getForUpdate(event), event);
  if (next) await work.dispatches.save(next);
}

/** allocation.line_allocated.v1: the line is to be dispatched from that batch. */
export const lineAllocated = (work: Work, event: LineAllocatedV1) => follow(work, event, onLineAllocated);

/** allocation.line_deallocated.v1: the line is no longer to be dispatched from that batch. */
export const lineDeallocated = (work: Work, event: LineDeallocatedV1) =>
  follow(work, event, onLineDeallocated);
