import { context } from "@opentelemetry/api";
import type { Tx } from "../types.js";
import { blamesTheMessage, type FailurePolicy, IMMEDIATE_RETRIES } from "./failure-policy.js";
import { callsOf } from "./handlers.js";
import { recordInbox } from "./inbox.js";
import type { InHand } from "./settle.js";

export type Attempt =
  | { ok: true; applied: boolean[] }
  | { ok: false; err: unknown; culprit: number | undefined };

/** Runs work in one transaction (the kit's unit of work, see unit-of-work.ts). */
export type RunTransaction = <T>(work: (tx: Tx) => Promise<T>) => Promise<T>;

/** An optimistic batch (see attempt) held a message already recorded in the inbox. */
class AlreadyRecorded extends Error {
  constructor() {
    super("the batch holds a message already handled: running it again after the inbox's answer");
    this.name = "AlreadyRecorded";
  }
}

/** The first copy of each id is the one handled; a copy later in the batch is a duplicate. */
export function firstCopies(messageIds: readonly string[]): boolean[] {
  const seen = new Set<string>();
  return messageIds.map((id) => !seen.has(id) && !!seen.add(id));
}

/**
 * One transaction for the whole batch: one inbox insert for every message id, then the
 * handlers of the newly recorded ones in stream order (see callsOf). A per-message call
 * runs under its message's span; a batch call under its first item's, so that its
 * statements land in a trace of the batch. Transient errors run the batch again at once.
 * On failure, `culprit` is the message whose handler threw when the error is that
 * message's own (see blamesTheMessage; a batch call of several messages names none).
 */
export async function attempt(
  batch: readonly InHand[],
  { durable, transaction, policy }: { durable: string; transaction: RunTransaction; policy: FailurePolicy },
): Promise<Attempt> {
  const unique = firstCopies(batch.map((e) => e.item.meta.messageId));
  const firsts = batch.filter((_, i) => unique[i]);
  const ids = firsts.map((e) => e.item.meta.messageId);
  const subjects = firsts.map((e) => e.m.subject);
  // A batch of first deliveries is almost always all new: its handlers start right behind
  // the inbox insert instead of waiting for its answer (their first statements follow it on
  // the connection without a round trip in between), and the answer is checked before
  // commit. A batch that held an id already recorded is rolled back and runs again, this
  // time after the answer. Redeliveries wait for it from the start.
  let optimistic = batch.every((e) => e.m.info.deliveryCount === 1);
  for (let n = 0; ; n++) {
    let current: number | undefined;
    const run = async (tx: Tx, applied: boolean[]) => {
      for (const call of callsOf(
        batch.map((e) => e.handler),
        applied,
      )) {
        const head = batch[call[0]!]!;
        const items = call.map((i) => batch[i]!.item);
        current = call.length === 1 ? call[0] : undefined;
        await context.with(head.ctx, () => head.handler.run(tx, items));
      }
      current = undefined;
    };
    try {
      const applied = await transaction(async (tx) => {
        const recorded = recordInbox(tx, durable, ids, subjects);
        if (optimistic) {
          const allNew = async () => {
            const fresh = await recorded;
            if (ids.some((id) => !fresh.has(id))) throw new AlreadyRecorded();
          };
          try {
            await run(tx, unique);
          } catch (err) {
            // A failure may come from running a message already handled: the inbox says.
            await allNew();
            throw err;
          }
          await allNew();
          return unique;
        }
        const fresh = await recorded;
        const applied = batch.map((e, i) => unique[i]! && fresh.has(e.item.meta.messageId));
        await run(tx, applied);
        return applied;
      });
      return { ok: true, applied };
    } catch (err) {
      if (err instanceof AlreadyRecorded && optimistic) {
        optimistic = false;
        continue;
      }
      if (n < IMMEDIATE_RETRIES && policy.isTransient(err)) {
        await new Promise((r) => setTimeout(r, Math.random() * 5 * (n + 1)));
        continue;
      }
      return { ok: false, err, culprit: blamesTheMessage(policy, err) ? current : undefined };
    }
  }
}
