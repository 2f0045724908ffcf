import type { UnitOfWork as KitUnitOfWork } from "@stockflow/messaging";
import type { Transaction, UnitOfWork } from "../../app/ports.js";
import { customerRepository } from "./customer-repository.js";
import type { Executor } from "./executor.js";
import { orderIntake } from "./order-intake.js";
import { orderRepository } from "./order-repository.js";

export interface OrderingUnitOfWork extends UnitOfWork {
  /** The repositories over a transaction of the kit's unit of work (the message consumer's). */
  bind(tx: Executor): Transaction;
}

export interface UnitOfWorkDeps {
  /** The service's drizzle database (reads outside a transaction). */
  db: Executor;
  /** The messaging kit's unit of work: transactions, statements and the outbox. */
  unitOfWork: KitUnitOfWork;
}

export function createUnitOfWork({ db, unitOfWork }: UnitOfWorkDeps): OrderingUnitOfWork {
  const bind = (tx: Executor): Transaction => ({
    orders: orderRepository(tx),
    customers: customerRepository(tx),
    events: { enqueue: (contract, payload) => unitOfWork.outbox.enqueue(tx, contract, payload) },
  });
  return {
    bind,
    run: (work) => unitOfWork.transaction((tx) => work(bind(tx))),
    read: (work) => work({ orders: orderRepository(db), customers: customerRepository(db) }),
    intake: orderIntake({ unitOfWork, service: "ordering" }),
  };
}
