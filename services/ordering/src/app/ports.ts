import type { Contract, EventOf } from "@stockflow/contracts";
import type { Customer } from "../domain/customer.js";
import type { Order, OrderLine } from "../domain/order.js";

export interface OrderRepository {
  add(order: Order): Promise<void>;
  /** Loads the order and locks it until the transaction ends, so updates of one order serialize. */
  getForUpdate(orderId: string): Promise<Order | undefined>;
  get(orderId: string): Promise<Order | undefined>;
  /** Writes the order's timestamps and cancellation and the given (changed) lines. */
  save(order: Order, changed: readonly OrderLine[]): Promise<void>;
}

export interface CustomerRepository {
  /**
   * Adds one order to the customer (creating them at their first) and returns the new
   * count. The row lock it takes serializes concurrent orders of one customer.
   */
  countOrder(customerId: string): Promise<number>;
  get(customerId: string): Promise<Customer | undefined>;
}

export interface StoredAnswer {
  requestHash: string;
  statusCode: number;
  response: Record<string, unknown>;
}

export interface IdempotencyStore {
  /**
   * Claims `key` for this request and stores its answer. When another request holds the
   * key, waits for its transaction and returns the answer it stored instead.
   */
  claim(key: string, answer: StoredAnswer): Promise<StoredAnswer | undefined>;
}

export interface EventSink {
  /** Writes the event to the outbox of the current transaction. */
  enqueue<C extends Contract>(contract: C, payload: EventOf<C>): Promise<string>;
}

/** Everything a handler may touch inside one database transaction. */
export interface Transaction {
  orders: OrderRepository;
  customers: CustomerRepository;
  idempotency: IdempotencyStore;
  events: EventSink;
}

export interface UnitOfWork {
  /** Runs `work` in a new transaction: all of it commits, or none of it. */
  run<T>(work: (tx: Transaction) => Promise<T>): Promise<T>;
  /** Reads outside a transaction (one statement each, no locks). */
  read<T>(work: (repos: Pick<Transaction, "orders" | "customers">) => Promise<T>): Promise<T>;
}

export interface Clock {
  now(): Date;
}

export interface HandlerDeps {
  clock: Clock;
  newId: () => string;
}
