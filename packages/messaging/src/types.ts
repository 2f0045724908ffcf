import type { PgDatabase, PgQueryResultHKT, PgTransaction } from "drizzle-orm/pg-core";
import type { PostgresJsDatabase } from "drizzle-orm/postgres-js";

// The kit works with any service's drizzle schema, so its own types leave the schema open.
// biome-ignore lint/suspicious/noExplicitAny: schema-agnostic on purpose
export type Database = PostgresJsDatabase<any>;
// biome-ignore lint/suspicious/noExplicitAny: schema-agnostic on purpose
export type Tx = PgTransaction<PgQueryResultHKT, any, any>;
// biome-ignore lint/suspicious/noExplicitAny: schema-agnostic on purpose
export type DbOrTx = PgDatabase<PgQueryResultHKT, any, any>;

export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}
