import { randomBytes } from "node:crypto";
import postgres from "postgres";
import { postgresContainer, startedPostgresContainerUrl } from "./containers.js";
import { TestInfrastructureError } from "./errors.js";
import { machineProbes } from "./machine.js";
import { choosePostgres, decide, LOCAL_ADMIN_URL, type PostgresChoice } from "./selection.js";

/**
 * Where tests create their databases, without waiting: TEST_DATABASE_ADMIN_URL, else this
 * process's PostgreSQL container once one has started, else the shared server. Before the
 * first createTestDatabase it cannot know about a container: await resolveAdminDatabaseUrl.
 */
export const adminDatabaseUrl = (): string =>
  process.env.TEST_DATABASE_ADMIN_URL || startedPostgresContainerUrl() || LOCAL_ADMIN_URL;

let choice: Promise<PostgresChoice> | undefined;

/**
 * Where tests create their databases: TEST_DATABASE_ADMIN_URL; else the shared server on
 * 127.0.0.1:5432 if it accepts connections; else, with a Docker engine, one PostgreSQL
 * container for this process, started now and reused. Decided once per process.
 */
export async function resolveAdminDatabaseUrl(): Promise<string> {
  choice ??= decide(choosePostgres, process.env, machineProbes);
  const chosen = await choice;
  switch (chosen.kind) {
    case "env":
    case "local":
      return chosen.url;
    case "container":
      return (await postgresContainer(chosen.image, chosen.via)).url;
    case "unavailable":
      throw new TestInfrastructureError(chosen.message);
  }
}

export interface TestDatabase {
  readonly name: string;
  readonly url: string;
  drop(): Promise<void>;
}

/** Swaps the database name in a PostgreSQL URL. */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/**
 * A fresh, empty database for one test file, on `adminUrl` or else where
 * resolveAdminDatabaseUrl says. Drop it in afterAll; `drop` ends other sessions first.
 */
export async function createTestDatabase(label = "test", adminUrl?: string): Promise<TestDatabase> {
  const server = adminUrl ?? (await resolveAdminDatabaseUrl());
  const name = `sf_${label.replace(/[^a-z0-9_]/gi, "_").toLowerCase()}_${randomBytes(4).toString("hex")}`;
  const admin = postgres(server, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`create database "${name}"`);
  } finally {
    await admin.end();
  }
  return {
    name,
    url: withDatabase(server, name),
    async drop() {
      const a = postgres(server, { max: 1, onnotice: () => {} });
      try {
        await a.unsafe(`drop database if exists "${name}" with (force)`);
      } finally {
        await a.end();
      }
    },
  };
}
