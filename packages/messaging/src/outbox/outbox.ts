import type { Contract, EventOf, ServiceName } from "@stockflow/contracts";
import { sendPrepared } from "../driver.js";
import type { EnqueueOptions } from "../published-versions.js";
import type { DbOrTx } from "../types.js";
import { type OutboxRow, outboxRowsOf } from "./row.js";
import { outboxInsert } from "./statements.js";

export interface Outbox {
  /**
   * Validates the event and writes it to the outbox inside `tx`, with every older version
   * still published (`outboxRowsOf`): it is published if and only if `tx` commits. Returns
   * the event's id (its `ce-id`).
   */
  enqueue<C extends Contract>(
    tx: DbOrTx,
    contract: C,
    payload: EventOf<C>,
    options?: EnqueueOptions,
  ): Promise<string>;
  /**
   * Writes rows made by `outboxRowsOf` inside `tx`, sent at once (behind what `tx` sent
   * before, without waiting for it): for a unit of work that pipelines its statements.
   */
  write(tx: DbOrTx, rows: readonly OutboxRow[]): Promise<void>;
}

/**
 * The outbox of a service: rows carry the NOTIFY that wakes the relays (of every replica)
 * when their transaction commits; the relays read them in outbox order.
 */
export function createOutbox({ service }: { service: ServiceName }): Outbox {
  async function write(tx: DbOrTx, rows: readonly OutboxRow[]): Promise<void> {
    if (rows.length === 0) return;
    await sendPrepared(tx, outboxInsert(rows, { notify: true }));
  }
  return {
    async enqueue(tx, contract, payload, options) {
      const rows = outboxRowsOf(service, contract, payload, options);
      await write(tx, rows);
      return rows[0]!.eventId;
    },
    write,
  };
}
