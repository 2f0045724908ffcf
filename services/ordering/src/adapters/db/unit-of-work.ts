import type { Contract, EventOf } from "@stockflow/contracts";
import type { CommittedRow } from "@stockflow/messaging";
import type { OrderRepository, Transaction, UnitOfWork } from "../../app/ports.js";
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
  /** Call once a transaction given to `bind` has committed: announces the orders it changed. */
  afterCommit(tx: Executor): void;
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
  /** Tells every replica which orders a committed transaction changed (requests wait on them). */
  announce: (orderIds: readonly string[]) => void;
}

/** The orders saved through a transaction's repository, kept until it commits. */
function changeRecorder() {
  const changed = new WeakMap<Executor, Set<string>>();
  const note = (tx: Executor, orderIds: readonly string[]) => {
    const set = changed.get(tx) ?? new Set<string>();
    if (set.size === 0) changed.set(tx, set);
    for (const id of orderIds) set.add(id);
  };
  return {
    recording(tx: Executor, orders: OrderRepository): OrderRepository {
      return {
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
      };
    },
    /** The orders `tx` changed, forgotten once asked. */
    take(tx: Executor): string[] {
      const set = changed.get(tx);
      changed.delete(tx);
      return set ? [...set] : [];
    },
  };
}

export function createUnitOfWork({ db, outbox, handOff, announce }: UnitOfWorkDeps): OrderingUnitOfWork {
  const pool = poolOf(db);
  const changes = changeRecorder();
  const afterCommit = (tx: Executor) => {
    const orderIds = changes.take(tx);
    if (orderIds.length > 0) announce(orderIds);
  };
  // Reads outside a transaction share one set of repositories (and their built queries).
  const reads = { orders: orderRepository(db), customers: customerRepository(db) };
  const bind = (tx: Executor): Transaction => ({
    orders: changes.recording(tx, orderRepository(tx)),
    customers: customerRepository(tx),
    events: { enqueue: (contract, payload) => outbox.enqueue(tx, contract, payload) },
  });
  return {
    bind,
    afterCommit,
    async run(work) {
      let committed: Executor | undefined;
      const result = await db.transaction((tx) => {
        committed = tx;
        return work(bind(tx));
      });
      if (committed) afterCommit(committed);
      return result;
    },
    read: (work) => work(reads),
    intake: orderIntake({ sql: pool, service: "ordering", handOff }),
  };
}
