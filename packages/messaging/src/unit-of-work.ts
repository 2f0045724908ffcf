import type { ServiceName } from "@stockflow/contracts";
import type { Statement } from "./driver.js";
import { clientOf, isTransaction, pipelinedTransaction } from "./driver.js";
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
   * What a service keeps for the length of one transaction (see PerTransaction): answers the
   * state of a transaction, opened on its first call.
   */
  perTransaction<S>(scope: PerTransaction<S>): (tx: DbOrTx) => S;
  /**
   * One statement on its own (it commits alone) that writes `rows` with the SQL of
   * `outboxInsertFrom` and answers their `id, event_id` among its rows: sent as a named
   * prepared statement on the pool; its rows go to the relay once it has committed.
   */
  statement<T extends object>(statement: Statement, rows: readonly OutboxRow[]): Promise<T[]>;
}

/**
 * State a service keeps per transaction, e.g. the products it read, or the orders it changed.
 * Every call with one transaction answers the same state, `open`ed on the first; `committed`
 * gets it once that transaction has committed, never when it rolls back, and the next
 * transaction opens its own. A transaction the unit of work did not open (a test's own) keeps
 * its state too, but the unit of work cannot see it commit; outside a transaction (the
 * database itself, each statement committing alone) every call opens a new state.
 */
export interface PerTransaction<S> {
  open(): S;
  committed?(state: S): void;
}

export interface UnitOfWorkOptions {
  service: ServiceName;
  db: Database;
  /** Where `statement`'s committed rows go: the relay's `handOff` (see messaging.ts). */
  handOff: (rows: CommittedRow[]) => void;
}

/** A transaction the unit of work opened: what runs once it has committed (perTransaction's `committed`). */
interface Opened {
  committed: (() => void)[];
}

export function createUnitOfWork({ service, db, handOff }: UnitOfWorkOptions): UnitOfWork {
  const transactions = new WeakMap<DbOrTx, Opened>();
  return {
    outbox: createOutbox({ service }),
    async transaction(work) {
      let opened: Opened | undefined;
      const result = await pipelinedTransaction(db, (tx) => {
        opened = { committed: [] };
        transactions.set(tx, opened);
        return work(tx);
      });
      if (opened) for (const fn of opened.committed) fn();
      return result;
    },
    perTransaction<S>({ open, committed }: PerTransaction<S>) {
      const states = new WeakMap<DbOrTx, S>();
      // Called for every message a handler runs: once opened, a state costs one lookup.
      return (tx: DbOrTx) => {
        const known = states.get(tx);
        if (known !== undefined) return known;
        const state = open();
        if (!isTransaction(tx)) return state;
        states.set(tx, state);
        if (committed) transactions.get(tx)?.committed.push(() => committed(state));
        return state;
      };
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
