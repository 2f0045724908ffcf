import type { DbOrTx } from "@stockflow/messaging";
import type { PendingQuery, Row, Sql } from "postgres";

/** A statement as PostgreSQL gets it: text with `$n` placeholders, and their values. */
export interface Statement {
  readonly text: string;
  readonly params: unknown[];
}

/** Numbers the parameters of a statement while its text is written. */
export class Params {
  readonly values: unknown[] = [];

  /** `$n::type` for `value`; the cast gives the prepared statement its parameter type. */
  add(value: unknown, type: string): string {
    this.values.push(value);
    return `$${this.values.length}::${type}`;
  }
}

/**
 * The postgres-js client under a drizzle database or transaction (the service's driver;
 * in a transaction, the one holding its connection).
 */
function driverOf(db: DbOrTx): Sql {
  const client = (db._.session as unknown as { client?: Sql }).client;
  if (typeof client?.unsafe !== "function") throw new Error("the drizzle session has no postgres-js client");
  return client;
}

/**
 * Sends a statement now, as a named prepared statement, and answers its rows. drizzle's
 * `execute` sends every statement unnamed: parsed and planned again each time, and described
 * in a round trip of its own before it runs. Prepared, a statement is parsed once per
 * connection and afterwards costs one Bind/Execute, which postgres-js sends in the same socket
 * write as any other statement issued before the event loop turns (pipelining). Statements
 * reach PostgreSQL, and run, in the order they were sent.
 */
export function send<T>(db: DbOrTx, { text, params }: Statement): Promise<T[]> {
  const query = driverOf(db).unsafe(text, params as never[], { prepare: true }) as PendingQuery<Row[]>;
  return query.execute() as unknown as Promise<T[]>;
}

/**
 * Waits for every promise, then throws the first failure in the order given (the first
 * statement that failed, not the first answer): later statements of a pipeline only report
 * the transaction an earlier one aborted.
 */
export async function settleInOrder(pending: readonly Promise<unknown>[]): Promise<void> {
  const results = await Promise.allSettled(pending);
  const failure = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failure) throw failure.reason;
}
