import type { DbOrTx, UnitOfWork as KitUnitOfWork, OutboxRow } from "@stockflow/messaging";
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
   * transactions start from without a read (ProductCache).
   */
  unitOfWork: Pick<KitUnitOfWork, "outbox" | "perTransaction">;
}

export function unitOfWorkFactory({ clock, unitOfWork }: UnitOfWorkOptions): UnitOfWorkFactory {
  const { outbox } = unitOfWork;
  const doubted = new Set<string>();
  const cache = new ProductCache();
  // One session per transaction: the units of a consumer batch share what they read and
  // wrote, a retried or split batch, in a new transaction, starts from nothing, and what a
  // committed one knew is what the next ones start from.
  const sessionOf = unitOfWork.perTransaction({
    open: () => new ProductSession(doubted, cache),
    committed: (session) => session.committed(),
  });
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
