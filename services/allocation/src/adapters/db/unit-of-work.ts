import {
  type CommittedRow,
  committedRows,
  type DbOrTx,
  type OutboxRow,
  outboxInsert,
} from "@stockflow/messaging";
import { is } from "drizzle-orm";
import { PgTransaction } from "drizzle-orm/pg-core";
import type { Clock, UnitOfWork } from "../../app/ports.js";
import type { AllocationEvent } from "../../domain/events.js";
import { outboxRowOf } from "../outgoing.js";
import { batchNews } from "./batch-news.js";
import { orderRecords } from "./order-records.js";
import { DrizzleProductRepository } from "./product-repository.js";
import { ProductCache, ProductSession } from "./product-session.js";
import { send, settleInOrder } from "./statement.js";

/** Builds a unit of work over a transaction that its caller (the message consumer) opens and commits. */
export interface UnitOfWorkFactory {
  (tx: DbOrTx): UnitOfWork;
  /**
   * Once `tx` has committed (asked once per transaction): the products it read and wrote
   * become what the next transactions start from without a read (ProductCache), and the
   * answer is the outbox rows it wrote, with their ids, for the outbox relay's `handOff`.
   */
  committed(tx: DbOrTx): CommittedRow[];
}

export interface UnitOfWorkOptions {
  clock: Clock;
  /**
   * The caller hands the written outbox rows to the relay after commit (the consumers'
   * `afterCommit`, with `committed(tx)`), so they go without a NOTIFY: a notifying transaction
   * holds PostgreSQL's notify lock through its commit, and the notification would only wake
   * this same process again.
   */
  relayToldAfterCommit?: boolean;
}

export function unitOfWorkFactory({
  clock,
  relayToldAfterCommit = false,
}: UnitOfWorkOptions): UnitOfWorkFactory {
  const notify = !relayToldAfterCommit;
  const writtenIn = new WeakMap<DbOrTx, CommittedRow[]>();
  // One session per transaction: the units of a consumer batch share what they read and
  // wrote, and a retried or split batch, in a new transaction, starts from nothing.
  const sessions = new WeakMap<DbOrTx, ProductSession>();
  const doubted = new Set<string>();
  const cache = new ProductCache();
  const sessionOf = (tx: DbOrTx) => {
    // Outside a transaction every statement commits alone: nothing read stays true.
    if (!is(tx, PgTransaction)) return new ProductSession(doubted);
    const session = sessions.get(tx) ?? new ProductSession(doubted, cache);
    sessions.set(tx, session);
    return session;
  };
  const factory = (tx: DbOrTx): UnitOfWork => {
    const products = new DrizzleProductRepository(tx, sessionOf(tx));
    const staged: OutboxRow[] = [];
    return {
      products,
      orders: orderRecords(tx),
      batchNews: batchNews(tx),
      stage(events: readonly AllocationEvent[]) {
        staged.push(...events.map(outboxRowOf));
      },
      async commit(events: readonly AllocationEvent[]) {
        // Validated before anything is sent: an event its contract refuses writes nothing.
        const rows = [...staged.splice(0), ...events.map(outboxRowOf)];
        // Sent together, one round trip: PostgreSQL runs them in this order, so the product
        // row locks come first and make a later writer of the same SKU wait, its outbox rows
        // get higher ids and the relay publishes per SKU in commit order. When a save finds
        // its version moved, the outbox rows sent after it go with the transaction's rollback.
        const saved = products.saveChanges(clock.now());
        const inserted =
          rows.length > 0
            ? send<{ id: string; event_id: string }>(tx, outboxInsert(rows, { notify }))
            : undefined;
        await settleInOrder(inserted ? [saved, inserted] : [saved]);
        if (inserted && !notify) {
          const written = writtenIn.get(tx) ?? [];
          written.push(...committedRows(rows, await inserted));
          writtenIn.set(tx, written);
        }
      },
    };
  };
  return Object.assign(factory, {
    committed(tx: DbOrTx) {
      sessions.get(tx)?.committed();
      sessions.delete(tx);
      const rows = writtenIn.get(tx) ?? [];
      writtenIn.delete(tx);
      return rows;
    },
  });
}
