import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";

/** A drizzle database or transaction: repositories run on whichever they are given. */
// biome-ignore lint/suspicious/noExplicitAny: any schema; repositories name their tables themselves
export type Executor = PgDatabase<PgQueryResultHKT, any, any>;
