import { isDatabaseUnavailable } from "../unavailable.js";
import { attempt, type RunTransaction } from "./attempt.js";
import { BLAMED_PER_BATCH, type FailurePolicy } from "./failure-policy.js";
import type { InHand, Queued, Settler } from "./settle.js";

export interface BatchRunner {
  durable: string;
  transaction: RunTransaction;
  policy: FailurePolicy;
  settle: Settler;
}

/**
 * Runs a batch to its end, every message acked or nak'ed: one transaction when it
 * succeeds; when a message's own handler fails, that message fails alone and the rest runs
 * again (at most BLAMED_PER_BATCH times); when nothing tells which message failed, one
 * transaction per message, as an unbatched consumer would.
 */
export async function runBatch(queued: readonly Queued[], r: BatchRunner): Promise<void> {
  const { settle } = r;
  let batch: InHand[] = queued.map(settle.inHand);
  for (let blamed = 0; ; blamed++) {
    const result = await attempt(batch, r);
    if (result.ok) {
      for (const [i, e] of batch.entries()) settle.succeeded(e, result.applied[i]!);
      return;
    }
    if (batch.length === 1) return settle.failed(batch[0]!, result.err);
    if (isDatabaseUnavailable(result.err)) {
      // One transaction per message would only meet the same outage (or its connect
      // timeout) once per message: they are all redelivered later.
      for (const e of batch) await settle.failed(e, result.err);
      return;
    }
    const { culprit } = result;
    if (culprit === undefined || blamed >= BLAMED_PER_BATCH) break;
    // That message fails on its own: it goes the way of a failed message (nak, or DLQ
    // after maxAttempts) and the others, rolled back with it, run again.
    await settle.failed(batch[culprit]!, result.err);
    batch = batch.filter((_, i) => i !== culprit);
  }
  for (const e of batch) {
    const result = await attempt([e], r);
    if (result.ok) settle.succeeded(e, result.applied[0]!);
    else await settle.failed(e, result.err);
  }
}
