import type { Contract, EventOf } from "@stockflow/contracts";
import type { CommittedRow } from "@stockflow/messaging";
import type { Transaction, UnitOfWork } from "../../app/ports.js";
import { customerRepository } from "./customer-repository.js";
import type { Executor } from "./executor.js";
import { orderIntake, poolOf } from "./order-intake.js";
import { orderRepository } from "./order-repository.js";

/** The part of the messaging kit's outbox the unit of work uses. */
export interface OutboxWriter {
  enqueue<C extends Contract>(tx: Executor, contract: C, payload: EventOf<C>): Promise<string>;
}

export interface OrderingUnitOfWork extends UnitOfWork {
  /** The repositories over a transaction someone else opened (the message consumer's). */
  bind(tx: Executor): Transaction;
}

export interface UnitOfWorkDeps {
  /** The service's drizzle database (not a transaction): new orders go through its pool. */
  db: Executor;
  outbox: OutboxWriter;
  /**
   * Hands the outbox rows of new orders to this process's relay once they are committed (its
   * `handOff()`): they are written without a NOTIFY (see order-intake.ts).
   */
  handOff: (rows: CommittedRow[]) => void;
}

export function createUnitOfWork({ db, outbox, handOff }: UnitOfWorkDeps): OrderingUnitOfWork {
  const pool = poolOf(db);
  const bind = (tx: Executor): Transaction => ({
    orders: orderRepository(tx),
    customers: customerRepository(tx),
    events: { enqueue: (contract, payload) => outbox.enqueue(tx, contract, payload) },
  });
  return {
    bind,
    run: (work) => db.transaction((tx) => work(bind(tx))),
    read: (work) => work({ orders: orderRepository(db), customers: customerRepository(db) }),
    intake: orderIntake({ sql: pool, service: "ordering", handOff }),
  };
}
