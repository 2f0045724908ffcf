import type { Contract, EventOf, ServiceName } from "@stockflow/contracts";
import { sendPrepared } from "../driver.js";
import type { EnqueueOptions } from "../published-versions.js";
import type { DbOrTx } from "../types.js";
import { type CommittedRow, committedRows, type OutboxRow, outboxRowsOf } from "./row.js";
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
 * Where the rows a transaction wrote go once it commits: the unit of work that opened it
 * (unit-of-work.ts) answers the list to add them to; a transaction it did not open has none.
 */
export type WrittenIn = (tx: DbOrTx) => CommittedRow[] | undefined;

/**
 * The outbox of a service. In a transaction of the kit's unit of work the rows go without a
 * NOTIFY and the unit of work hands them to the relay once committed; in any other
 * transaction they carry the NOTIFY that wakes the relay at commit.
 */
export function createOutbox({
  service,
  writtenIn = () => undefined,
}: {
  service: ServiceName;
  writtenIn?: WrittenIn;
}): Outbox {
  async function write(tx: DbOrTx, rows: readonly OutboxRow[]): Promise<void> {
    if (rows.length === 0) return;
    const written = writtenIn(tx);
    const inserted = sendPrepared<{ id: string; event_id: string }>(
      tx,
      outboxInsert(rows, { notify: !written }),
    );
    if (written) written.push(...committedRows(rows, await inserted));
    else await inserted;
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
