import type { Logger } from "@stockflow/telemetry";
import { drizzle, type PostgresJsDatabase } from "drizzle-orm/postgres-js";
import { migrate } from "drizzle-orm/postgres-js/migrator";
import postgres, { type Sql } from "postgres";

export interface DatabaseOptions<TSchema extends Record<string, unknown>> {
  url: string;
  /** Names the migrations table (`drizzle.__drizzle_migrations_<service>`) and the advisory lock. */
  service: string;
  /** drizzle-kit output folder (with meta/_journal.json). */
  migrationsFolder: string;
  logger: Logger;
  /** drizzle schema, for relational queries (`db.query.*`). */
  schema?: TSchema;
  /** Connections of the drizzle pool; PostgreSQL commits several times more per second with ~10 than with 1. */
  poolSize?: number;
}

export interface Database<TSchema extends Record<string, unknown> = Record<string, never>> {
  /**
   * A raw postgres-js client with its default type parsing (timestamps as Date), for
   * LISTEN/NOTIFY and readiness. It is a separate pool: drizzle changes the parsers of
   * the client it wraps.
   */
  sql: Sql;
  db: PostgresJsDatabase<TSchema>;
  close(): Promise<void>;
}

const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** Lock id shared by every replica of one service, so only one migrates at a time. */
const lockKey = (service: string) => `stockflow-migrations:${service}`;

function clientOptions(service: string, max: number) {
  return {
    max,
    connect_timeout: 10,
    // postgres-js counts failed connects across the pool and backs off up to 20 s, so a
    // service came back up to half a minute after its database did; 2 s at most instead.
    backoff: (retries: number) => Math.min(0.1 * 2 ** retries, 2),
    onnotice: () => {},
    connection: { application_name: service },
  };
}

/** Creates the database of `url` when it does not exist yet (another replica may race us). */
export async function ensureDatabaseExists(url: string, logger: Logger): Promise<void> {
  const probe = postgres(url, { max: 1, connect_timeout: 10, onnotice: () => {} });
  try {
    await probe`select 1`;
    return;
  } catch (err) {
    if ((err as { code?: string }).code !== "3D000") throw err; // 3D000: database does not exist
  } finally {
    await probe.end({ timeout: 5 });
  }
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.slice(1));
  target.pathname = "/postgres";
  const admin = postgres(target.toString(), { max: 1, connect_timeout: 10, onnotice: () => {} });
  try {
    await admin.unsafe(`create database ${quoteIdent(name)}`);
    logger.info({ database: name }, "created database");
  } catch (err) {
    // 42P04 duplicate_database; 23505 when two creates race on pg_database's unique index.
    const code = (err as { code?: string }).code;
    if (code !== "42P04" && code !== "23505") throw err;
  } finally {
    await admin.end({ timeout: 5 });
  }
}

/**
 * Opens the service's database: creates it if missing, then applies its drizzle
 * migrations under a session advisory lock (drizzle's migrate() takes none) into the
 * service's own migrations table.
 */
export async function openDatabase<TSchema extends Record<string, unknown> = Record<string, never>>(
  options: DatabaseOptions<TSchema>,
): Promise<Database<TSchema>> {
  const { url, service, migrationsFolder, logger, schema, poolSize = 10 } = options;
  await ensureDatabaseExists(url, logger);

  // The lock is held by its own connection, so migrate() may use any pool connection.
  const lock = postgres(url, clientOptions(service, 1));
  const client = postgres(url, clientOptions(service, poolSize));
  const db = (schema ? drizzle(client, { schema }) : drizzle(client)) as PostgresJsDatabase<TSchema>;
  try {
    await lock`select pg_advisory_lock(hashtext(${lockKey(service)}))`;
    try {
      await migrate(db, {
        migrationsFolder,
        migrationsSchema: "drizzle",
        migrationsTable: `__drizzle_migrations_${service}`,
      });
    } finally {
      await lock`select pg_advisory_unlock(hashtext(${lockKey(service)}))`;
    }
    logger.info({ migrationsFolder }, "database migrated");
  } catch (err) {
    await client.end({ timeout: 5 });
    throw err;
  } finally {
    await lock.end({ timeout: 5 });
  }

  const sql = postgres(url, clientOptions(service, 2));
  return {
    sql,
    db,
    async close() {
      await Promise.all([sql.end({ timeout: 5 }), client.end({ timeout: 5 })]);
    },
  };
}
