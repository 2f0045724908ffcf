import type { CommittedRow } from "../outbox/row.js";
import type { Logger } from "../types.js";
import type { Claims } from "./claims.js";
import type { Publisher } from "./publisher.js";
import type { ReadState } from "./reader.js";

export interface HandOffOptions {
  claims: Claims;
  publisher: Publisher;
  state: ReadState;
  logger: Logger;
  markDelayMs: number;
  /** Whether the relay runs: a stopped relay's hand-offs wait for a read. */
  running: () => boolean;
  /** Rows that may not go at once: the relay reads them instead. */
  read: () => void;
  /** Hand-offs published these rows and the mark delay passed: time to mark them. */
  markDue: () => void;
  onPublished: (count: number) => void;
}

export interface HandOff {
  (rows: readonly CommittedRow[]): void;
  /** Waits for the publishes under way. */
  settle(): Promise<void>;
  /** No marking to come (the relay stops). */
  cancelMark(): void;
}

/**
 * Rows their writer has just committed, from the process that wrote them: published at
 * once, without reading them back, and marked a little later, the hand-offs of
 * `markDelayMs` in one statement (a crash in between publishes them again, with the same
 * Nats-Msg-Id). While rows committed earlier may still be unpublished (at start, after a
 * failed publish) the relay reads instead, in outbox order.
 */
export function createHandOff(o: HandOffOptions): HandOff {
  const inFlight = new Set<Promise<void>>();
  let markTimer: NodeJS.Timeout | undefined;

  const handOff = (rows: readonly CommittedRow[]): void => {
    if (rows.length === 0) return;
    if (!o.running() || !o.state.handOffs) {
      o.read();
      return;
    }
    // A read that saw them first publishes them.
    const fresh = rows.filter((r) => o.claims.isFresh(r.id));
    if (fresh.length === 0) return;
    for (const r of fresh) o.claims.claim(r.id);
    const task = o.publisher.publishAll(fresh).then(({ done, rest, failure }) => {
      for (const r of rest) o.claims.unclaim(r.id);
      o.claims.published(done.map((r) => r.id));
      if (done.length > 0) o.onPublished(done.length);
      if (failure) {
        // This row and the ones after it go back to the outbox's order: read, not handed off.
        o.state.handOffs = false;
        o.logger.warn({ err: failure }, `outbox relay: publish failed: ${failure.message}`);
        o.read();
      }
      if (!markTimer && o.claims.hasUnmarked()) {
        markTimer = setTimeout(() => {
          markTimer = undefined;
          o.markDue();
        }, o.markDelayMs);
      }
    });
    inFlight.add(task);
    void task.finally(() => inFlight.delete(task));
  };

  return Object.assign(handOff, {
    async settle() {
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
    },
    cancelMark() {
      clearTimeout(markTimer);
      markTimer = undefined;
    },
  });
}
