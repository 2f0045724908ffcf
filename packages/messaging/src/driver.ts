import { is } from "drizzle-orm";
import { PgTransaction } from "drizzle-orm/pg-core";
import type { PendingQuery, Row, Sql } from "postgres";
import type { DbOrTx } from "./types.js";

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
