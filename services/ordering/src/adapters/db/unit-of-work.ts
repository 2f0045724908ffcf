import type { Contract, EventOf } from "@stockflow/contracts";
import type { Transaction, UnitOfWork } from "../../app/ports.js";
import { customerRepository } from "./customer-repository.js";
import type { Executor } from "./executor.js";
import { idempotencyStore } from "./idempotency-store.js";
import { orderRepository } from "./order-repository.js";

/** The part of the messaging kit's outbox the unit of work uses. */
export interface OutboxWriter {
  enqueue<C extends Contract>(tx: Executor, contract: C, payload: EventOf<C>): Promise<string>;
}

export interface OrderingUnitOfWork extends UnitOfWork {
  /** The repositories over a transaction someone else opened (the message consumer's). */
  bind(tx: Executor): Transaction;
}

export function createUnitOfWork({ db, outbox }: { db: Executor; outbox: OutboxWriter }): OrderingUnitOfWork {
  const bind = (tx: Executor): Transaction => ({
    orders: orderRepository(tx),
    customers: customerRepository(tx),
    idempotency: idempotencyStore(tx),
    events: { enqueue: (contract, payload) => outbox.enqueue(tx, contract, payload) },
  });
  return {
    bind,
    run: (work) => db.transaction((tx) => work(bind(tx))),
    read: (work) => work({ orders: orderRepository(db), customers: customerRepository(db) }),
  };
}
