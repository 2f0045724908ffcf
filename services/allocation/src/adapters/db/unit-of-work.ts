import { type DbOrTx, type OutboxRow, outboxInsert } from "@stockflow/messaging";
import { is } from "drizzle-orm";
import { PgTransaction } from "drizzle-orm/pg-core";
import type { Clock, UnitOfWork } from "../../app/ports.js";
import type { AllocationEvent } from "../../domain/events.js";
import { outboxRowOf } from "../outgoing.js";
import { DrizzleProductRepository } from "./product-repository.js";
import { ProductSession } from "./product-session.js";
import { send, settleInOrder } from "./statement.js";

/** Builds a unit of work over a transaction that its caller (the message consumer) opens and commits. */
export type UnitOfWorkFactory = (tx: DbOrTx) => UnitOfWork;

export interface UnitOfWorkOptions {
  clock: Clock;
  /**
   * The caller wakes the outbox relay after commit (the consumers' `afterCommit`), so the
   * outbox rows go without a NOTIFY: a notifying transaction holds PostgreSQL's notify lock
   * through its commit, and the notification would only wake this same process again.
   */
  relayWokenAfterCommit?: boolean;
}

export function unitOfWorkFactory({
  clock,
  relayWokenAfterCommit = false,
}: UnitOfWorkOptions): UnitOfWorkFactory {
  const notify = !relayWokenAfterCommit;
  // One session per transaction: the units of a consumer batch share what they read and
  // wrote, and a retried or split batch, in a new transaction, starts from nothing.
  const sessions = new WeakMap<DbOrTx, ProductSession>();
  const doubted = new Set<string>();
  const sessionOf = (tx: DbOrTx) => {
    // Outside a transaction every statement commits alone: nothing read stays true.
    if (!is(tx, PgTransaction)) return new ProductSession(doubted);
    const session = sessions.get(tx) ?? new ProductSession(doubted);
    sessions.set(tx, session);
    return session;
  };
  return (tx) => {
    const products = new DrizzleProductRepository(tx, sessionOf(tx));
    const staged: OutboxRow[] = [];
    return {
      products,
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
        const queued = rows.length > 0 ? [send(tx, outboxInsert(rows, { notify }))] : [];
        await settleInOrder([saved, ...queued]);
      },
    };
  };
}
