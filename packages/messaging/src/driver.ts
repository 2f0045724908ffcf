import { is } from "drizzle-orm";
import { type PgDialect, PgTransaction } from "drizzle-orm/pg-core";
import { PostgresJsSession, PostgresJsTransaction } from "drizzle-orm/postgres-js";
import type { PendingQuery, Row, Sql, TransactionSql } from "postgres";
import type { Database, DbOrTx, Tx } from "./types.js";

/** A statement as PostgreSQL gets it: text with `$n` placeholders, and their values. */
export interface Statement {
  readonly text: string;
  readonly params: unknown[];
}

/**
 * The one module that reaches under drizzle to its postgres-js driver (drizzle-orm 0.45:
 * a database's `$client`, a session's `client`, which in a transaction is the client
 * holding that transaction's connection). `driver.int.test.ts` fails when they move.
 */
export function clientOf(db: DbOrTx): Sql {
  const session = (db as { _?: { session?: { client?: Sql } } })._?.session;
  const client = session?.client ?? (db as { $client?: Sql }).$client;
  if (typeof client?.unsafe !== "function") throw new Error("the drizzle database has no postgres-js client");
  return client;
}

/** Whether `db` is a transaction (its reads stay true until commit) or a database (each statement commits alone). */
export function isTransaction(db: DbOrTx): boolean {
  return is(db, PgTransaction);
}

/**
 * Sends a statement now, as a named prepared statement, on the connection of `db` (a
 * transaction's own), and answers its rows. drizzle's `execute` sends every statement
 * unnamed: parsed, planned and described again each time. Prepared, a statement costs one
 * Bind/Execute once per connection it was parsed on, and postgres-js sends it in the same
 * socket write as any other statement issued before the event loop turns (pipelining):
 * statements reach PostgreSQL, and run, in the order they were sent.
 */
export function sendPrepared<T>(db: DbOrTx, { text, params }: Statement): Promise<T[]> {
  const query = clientOf(db).unsafe(text, params as never[], { prepare: true }) as PendingQuery<Row[]>;
  return query.execute() as unknown as Promise<T[]>;
}

/**
 * The opt-in of our postgres-js patch (`patches/postgres@3.4.9.patch`, proposed
 * upstream-style): BEGIN goes out with the transaction's first statements instead of alone,
 * and queries the callback returns unsent in an array go out with the COMMIT; a failed one
 * rolls the transaction back and its error is thrown. On a loopback connection a round trip
 * (a write that wakes the backend, and its answer) costs more CPU than most statements, and
 * on two cores shared by services, PostgreSQL and NATS, two round trips less per transaction
 * are a large part of the sustained rate. Only the kit's transactions opt in: a plain
 * `sql.begin` behaves as upstream's.
 */
const PIPELINE = { pipeline: true } as const;

/** What `begin` answers (postgres-js's own type, which it does not export): queries in an array answered with their rows. */
export type Answered<T> = T extends unknown[]
  ? { [K in keyof T]: T[K] extends Promise<infer R> ? R : T[K] }
  : T;

/** `sql.begin(fn)` with BEGIN and COMMIT pipelined (see PIPELINE): the relay's batches. */
export function pipelinedBegin<T>(
  sql: Sql,
  fn: (tx: TransactionSql) => T | Promise<T>,
): Promise<Answered<T>> {
  return sql.begin(PIPELINE, fn) as unknown as Promise<Answered<T>>;
}

/** The parts of a drizzle 0.45 database its `transaction` builds a transaction from. */
interface DrizzleInternals {
  dialect: PgDialect;
  session: {
    schema: ConstructorParameters<typeof PostgresJsSession>[2];
    options: ConstructorParameters<typeof PostgresJsSession>[3];
  };
}

/**
 * `db.transaction(work)` with BEGIN pipelined (see PIPELINE): the unit of work's (a consumer's
 * without one). Builds the transaction as drizzle 0.45's `PostgresJsSession.transaction`
 * does, on the connection of a pipelined `begin` (drizzle has no way to pass it an option).
 * `driver.int.test.ts` fails when drizzle's classes or fields move.
 */
export function pipelinedTransaction<T>(db: Database, work: (tx: Tx) => Promise<T>): Promise<T> {
  const { dialect, session } = db as unknown as DrizzleInternals;
  return clientOf(db).begin(PIPELINE, (client) => {
    // drizzle's types want a session's client to be a whole Sql; its own code passes the
    // transaction's, as here.
    const own = new PostgresJsSession(client as never, dialect, session.schema, session.options);
    return work(new PostgresJsTransaction(dialect, own as never, session.schema));
  }) as Promise<T>;
}
