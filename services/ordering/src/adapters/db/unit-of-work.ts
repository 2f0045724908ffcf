import type { Contract, EventOf } from "@stockflow/contracts";
import type { Logger } from "@stockflow/telemetry";
import type { Transaction, UnitOfWork } from "../../app/ports.js";
import { customerRepository } from "./customer-repository.js";
import type { Executor } from "./executor.js";
import { orderIntake, poolOf, relayWaker } from "./order-intake.js";
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
  logger: Pick<Logger, "warn">;
  /**
   * Wakes this process's outbox relay after orders commit (its `wake()`): no statement and no
   * notification through PostgreSQL. Without it, a NOTIFY after commit wakes whichever
   * relay listens (relayWaker).
   */
  wakeRelay?: () => void;
}

export function createUnitOfWork({
  db,
  outbox,
  logger,
  wakeRelay: wakeLocal,
}: UnitOfWorkDeps): OrderingUnitOfWork {
  const pool = poolOf(db);
  const wakeRelay =
    wakeLocal ??
    relayWaker(pool, (err) =>
      logger.warn({ err }, "waking the outbox relay failed; it polls for the rows instead"),
    );
  const bind = (tx: Executor): Transaction => ({
    orders: orderRepository(tx),
    customers: customerRepository(tx),
    events: { enqueue: (contract, payload) => outbox.enqueue(tx, contract, payload) },
  });
  return {
    bind,
    run: (work) => db.transaction((tx) => work(bind(tx))),
    read: (work) => work({ orders: orderRepository(db), customers: customerRepository(db) }),
    intake: orderIntake({ sql: pool, service: "ordering", wakeRelay }),
  };
}
