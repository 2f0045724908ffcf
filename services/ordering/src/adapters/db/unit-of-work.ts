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
 * Repositories that note the orders saved through a transaction and announce them once it
 * has committed (the kit's afterCommit: never for a transaction rolled back).
 */
function announcingChanges(unitOfWork: KitUnitOfWork, announce: UnitOfWorkDeps["announce"]) {
  const changed = new WeakMap<Executor, Set<string>>();
  const note = (tx: Executor, orderIds: readonly string[]) => {
    let set = changed.get(tx);
    if (!set) {
      const orders = new Set<string>();
      set = orders;
      changed.set(tx, orders);
      unitOfWork.afterCommit(tx, () => announce([...orders]));
    }
    for (const id of orderIds) set.add(id);
  };
  return (tx: Executor, orders: OrderRepository): OrderRepository => ({
    ...orders,
    save: (order, lines) => {
      note(tx, [order.orderId]);
      return orders.save(order, lines);
    },
    saveMany: (changes) => {
      note(
        tx,
        changes.map((c) => c.order.orderId),
      );
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
