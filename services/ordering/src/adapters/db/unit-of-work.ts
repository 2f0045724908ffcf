import type { UnitOfWork as KitUnitOfWork } from "@stockflow/messaging";
import type { OrderRepository, Transaction, UnitOfWork } from "../../app/ports.js";
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
  /** Tells every replica which orders a committed transaction changed (requests wait on them). */
  announce: (orderIds: readonly string[]) => void;
}

/**
 * Repositories that note the orders saved through a transaction; the kit announces them once
 * it has committed (never for a transaction rolled back).
 */
function announcingChanges(unitOfWork: KitUnitOfWork, announce: UnitOfWorkDeps["announce"]) {
  const changedIn = unitOfWork.perTransaction({
    open: () => new Set<string>(),
    committed: (orderIds) => announce([...orderIds]),
  });
  return (tx: Executor, orders: OrderRepository): OrderRepository => ({
    ...orders,
    save: (order, lines) => {
      changedIn(tx).add(order.orderId);
      return orders.save(order, lines);
    },
    saveMany: (changes) => {
      const changed = changedIn(tx);
      for (const { order } of changes) changed.add(order.orderId);
      return orders.saveMany(changes);
    },
  });
}

export function createUnitOfWork({ db, unitOfWork, announce }: UnitOfWorkDeps): OrderingUnitOfWork {
  const recording = announcingChanges(unitOfWork, announce);
  // Reads outside a transaction share one set of repositories (and their built queries).
  const reads = { orders: orderRepository(db), customers: customerRepository(db) };
  const bind = (tx: Executor): Transaction => ({
    orders: recording(tx, orderRepository(tx)),
    customers: customerRepository(tx),
    events: { enqueue: (contract, payload) => unitOfWork.outbox.enqueue(tx, contract, payload) },
  });
  return {
    bind,
    run: (work) => unitOfWork.transaction((tx) => work(bind(tx))),
    read: (work) => work(reads),
    intake: orderIntake({ unitOfWork, service: "ordering" }),
  };
}
