import type { Contract, EventOf } from "@stockflow/contracts";
import type { Customer } from "../domain/customer.js";
import type { Order, OrderLine } from "../domain/order.js";

/** An order to write, with those of its lines that changed (each sku once). */
export interface OrderChange {
  order: Order;
  changed: readonly OrderLine[];
}

export interface OrderRepository {
  /** Loads the order and locks it until the transaction ends, so updates of one order serialize. */
  getForUpdate(orderId: string): Promise<Order | undefined>;
  /** getForUpdate for several orders in one statement: those that exist, by id. */
  getManyForUpdate(orderIds: readonly string[]): Promise<Map<string, Order>>;
  get(orderId: string): Promise<Order | undefined>;
  /** Writes the order's timestamps and cancellation and the given (changed) lines. */
  save(order: Order, changed: readonly OrderLine[]): Promise<void>;
  /** save for several orders in one statement. */
  saveMany(changes: readonly OrderChange[]): Promise<void>;
}

export interface CustomerRepository {
  get(customerId: string): Promise<Customer | undefined>;
}

export interface StoredAnswer {
  requestHash: string;
  statusCode: number;
  response: Record<string, unknown>;
}

/** An event to write to the outbox together with a new order. */
export interface OutgoingEvent<C extends Contract = Contract> {
  contract: C;
  payload: EventOf<C>;
  /** Written only when the customer's order count, this order included, is this number. */
  atOrderCount?: number;
}

export interface NewOrderRecord {
  order: Order;
  events: readonly OutgoingEvent[];
  /** Claims the key for this request and stores its answer, before anything else. */
  idempotency?: { key: string; answer: StoredAnswer };
}

export type IntakeResult =
  | { placed: true; orderCount: number }
  /** Another request holds the key: nothing was written, this is the answer it stored. */
  | { placed: false; earlier: StoredAnswer };

/**
 * Takes new orders, each an atomic write of its own (a statement may carry several): with
 * a key, the key is claimed first (when another request holds it, this waits for that request's commit
 * and returns its answer instead, writing nothing); then the order and its lines are
 * stored, the order is counted for the customer (creating them at their first), and the
 * events are written to the outbox. Concurrent orders of one customer get distinct counts.
 */
export interface OrderIntake {
  place(record: NewOrderRecord): Promise<IntakeResult>;
}

export interface EventSink {
  /** Writes the event to the outbox of the current transaction. */
  enqueue<C extends Contract>(contract: C, payload: EventOf<C>): Promise<string>;
}

/** Everything a handler may touch inside one database transaction. */
export interface Transaction {
  orders: OrderRepository;
  customers: CustomerRepository;
  events: EventSink;
}

export interface UnitOfWork {
  /** Runs `work` in a new transaction: all of it commits, or none of it. */
  run<T>(work: (tx: Transaction) => Promise<T>): Promise<T>;
  /** Reads outside a transaction (one statement each, no locks). */
  read<T>(work: (repos: Pick<Transaction, "orders" | "customers">) => Promise<T>): Promise<T>;
  /**
   * New orders, each atomic on its own: one statement that is its own transaction (the kit's
   * `unitOfWork.statement`), not `run` (why: "How an order is written" in the README).
   */
  intake: OrderIntake;
}

export interface Clock {
  now(): Date;
}

export interface HandlerDeps {
  clock: Clock;
  newId: () => string;
}
