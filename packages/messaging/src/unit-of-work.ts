import type { ServiceName } from "@stockflow/contracts";
import type { Statement } from "./driver.js";
import { clientOf, pipelinedTransaction } from "./driver.js";
import { createOutbox, type Outbox } from "./outbox/outbox.js";
import { type CommittedRow, committedRows, type OutboxRow } from "./outbox/row.js";
import type { Database, DbOrTx, Tx } from "./types.js";

/**
 * How a service writes: its changes and the events they make, atomically. Events go through
 * `outbox` only, and are published once their transaction commits by the service's relay,
 * which the service never sees: a transaction's rows carry a NOTIFY, and the relays read
 * them in outbox order, so an event never overtakes one committed before it, even in another
 * replica (per SKU, allocation's events keep the order in which they happened).
 */
export interface UnitOfWork {
  readonly outbox: Outbox;
  /** Runs `work` in one transaction: all of it commits, events included, or none of it. */
  transaction<T>(work: (tx: Tx) => Promise<T>): Promise<T>;
  /**
   * Runs `fn` once `tx` has committed: e.g. to keep what it read for the next transactions.
   * Never runs when it rolls back. False (and `fn` never runs) when `tx` is not a
   * transaction of `transaction`.
   */
  afterCommit(tx: DbOrTx, fn: () => void): boolean;
  /**
   * One statement on its own (it commits alone) that writes `rows` with the SQL of
   * `outboxInsertFrom` and answers their `id, event_id` among its rows: sent as a named
   * prepared statement on the pool; its rows go to the relay once it has committed.
   */
  statement<T extends object>(statement: Statement, rows: readonly OutboxRow[]): Promise<T[]>;
}

export interface UnitOfWorkOptions {
  service: ServiceName;
  db: Database;
  /** Where `statement`'s committed rows go: the relay's `handOff` (see messaging.ts). */
  handOff: (rows: CommittedRow[]) => void;
}

interface Open {
  committed: (() => void)[];
}

export function createUnitOfWork({ service, db, handOff }: UnitOfWorkOptions): UnitOfWork {
  const open = new WeakMap<DbOrTx, Open>();
  return {
    outbox: createOutbox({ service }),
    async transaction(work) {
      let opened: Open | undefined;
      const result = await pipelinedTransaction(db, (tx) => {
        opened = { committed: [] };
        open.set(tx, opened);
        return work(tx);
      });
      if (opened) for (const fn of opened.committed) fn();
      return result;
    },
    afterCommit(tx, fn) {
      const o = open.get(tx);
      o?.committed.push(fn);
      return o !== undefined;
    },
    async statement<T extends object>({ text, params }: Statement, rows: readonly OutboxRow[]) {
      const answered = (await clientOf(db).unsafe(text, params as never[], {
        prepare: true,
      })) as unknown as T[];
      handOff(committedRows(rows, answered as { id: string | null; event_id: string | null }[]));
      return answered;
    },
  };
}
