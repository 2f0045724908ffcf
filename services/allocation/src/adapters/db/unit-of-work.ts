import {
  createOutbox,
  type DbOrTx,
  isTransaction,
  type UnitOfWork as KitUnitOfWork,
  type OutboxRow,
} from "@stockflow/messaging";
import type { Clock, UnitOfWork } from "../../app/ports.js";
import type { AllocationEvent } from "../../domain/events.js";
import { outboxRowsOfEvent } from "../outgoing.js";
import { batchNews } from "./batch-news.js";
import { orderRecords } from "./order-records.js";
import { DrizzleProductRepository } from "./product-repository.js";
import { ProductCache, ProductSession } from "./product-session.js";
import { settleInOrder } from "./statement.js";

/** Builds a unit of work over a transaction that its caller (the message consumer) opens and commits. */
export type UnitOfWorkFactory = (tx: DbOrTx) => UnitOfWork;

export interface UnitOfWorkOptions {
  clock: Clock;
  /**
   * The messaging kit's unit of work whose transactions the consumers run: the outbox rows
   * go to the relay once a transaction commits, and its products become what the next
   * transactions start from without a read (ProductCache). Without it (tests), rows carry
   * the NOTIFY and nothing is remembered across transactions.
   */
  unitOfWork?: Pick<KitUnitOfWork, "outbox" | "afterCommit">;
}

export function unitOfWorkFactory({ clock, unitOfWork }: UnitOfWorkOptions): UnitOfWorkFactory {
  const outbox = unitOfWork?.outbox ?? createOutbox({ service: "allocation" });
  // One session per transaction: the units of a consumer batch share what they read and
  // wrote, and a retried or split batch, in a new transaction, starts from nothing.
  const sessions = new WeakMap<DbOrTx, ProductSession>();
  const doubted = new Set<string>();
  const cache = new ProductCache();
  const sessionOf = (tx: DbOrTx) => {
    // Outside a transaction every statement commits alone: nothing read stays true.
    if (!isTransaction(tx)) return new ProductSession(doubted);
    let session = sessions.get(tx);
    if (!session) {
      const created = new ProductSession(doubted, cache);
      unitOfWork?.afterCommit(tx, () => created.committed());
      sessions.set(tx, created);
      session = created;
    }
    return session;
  };
  return (tx: DbOrTx): UnitOfWork => {
    const products = new DrizzleProductRepository(tx, sessionOf(tx));
    const staged: OutboxRow[] = [];
    return {
      products,
      orders: orderRecords(tx),
      batchNews: batchNews(tx),
      stage(events: readonly AllocationEvent[]) {
        staged.push(...events.flatMap(outboxRowsOfEvent));
      },
      async commit(events: readonly AllocationEvent[]) {
        // Validated before anything is sent: an event its contract refuses writes nothing.
        const rows = [...staged.splice(0), ...events.flatMap(outboxRowsOfEvent)];
        // Sent together, one round trip: PostgreSQL runs them in this order, so the product
        // row locks come first and make a later writer of the same SKU wait, its outbox rows
        // get higher ids and the relay publishes per SKU in commit order. When a save finds
        // its version moved, the outbox rows sent after it go with the transaction's rollback.
        const saved = products.saveChanges(clock.now());
        await settleInOrder(rows.length > 0 ? [saved, outbox.write(tx, rows)] : [saved]);
      },
    };
  };
}
