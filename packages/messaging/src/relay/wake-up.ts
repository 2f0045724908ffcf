import type { Sql } from "postgres";
import { OUTBOX_CHANNEL } from "../outbox/statements.js";
import type { Logger } from "../types.js";

/** The relay's sleep between batches, which anything may cut short. */
export interface WakeUp {
  sleep(ms: number): Promise<void>;
  /** Ends the current sleep (if any) at once. */
  wake(): void;
}

export function createWakeUp(): WakeUp {
  let wake: (() => void) | undefined;
  return {
    sleep(ms) {
      return new Promise((resolve) => {
        const timer = setTimeout(done, ms);
        function done() {
          clearTimeout(timer);
          wake = undefined;
          resolve();
        }
        wake = done;
      });
    },
    wake: () => wake?.(),
  };
}

/**
 * LISTENs for the NOTIFY of rows committed by other processes (or by writers outside the
 * kit's unit of work); answers how to stop, or undefined when LISTEN failed (polling only).
 */
export async function listenForCommits(
  sql: Sql,
  logger: Logger,
  onNotify: () => void,
): Promise<(() => Promise<void>) | undefined> {
  try {
    const sub = await sql.listen(OUTBOX_CHANNEL, onNotify);
    return () => sub.unlisten();
  } catch (err) {
    logger.warn({ err }, "outbox relay: LISTEN failed, polling only");
    return undefined;
  }
}
