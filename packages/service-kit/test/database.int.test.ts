import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger } from "@stockflow/telemetry";
import { resolveAdminDatabaseUrl, withDatabase } from "@stockflow/testkit";
import { sql as dsql } from "drizzle-orm";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Database, openDatabase } from "../src/index.js";

const logger = createLogger({ service: "database-test", level: "silent" });
const name = `sf_service_kit_open_${Math.random().toString(16).slice(2, 10)}`;
let adminUrl: string;
let url: string;
let folder: string;
const opened: Database[] = [];

async function writeMigrations(dir: string): Promise<void> {
  await mkdir(join(dir, "meta"), { recursive: true });
  await writeFile(
    join(dir, "meta", "_journal.json"),
    JSON.stringify({
      version: "7",
      dialect: "postgresql",
      entries: [{ idx: 0, version: "7", when: 1_700_000_000_000, tag: "0000_widgets", breakpoints: true }],
    }),
  );
  await writeFile(
    join(dir, "0000_widgets.sql"),
    'CREATE TABLE "widgets" ("id" text PRIMARY KEY, "made_at" timestamp with time zone DEFAULT now() NOT NULL);',
  );
}

beforeAll(async () => {
  adminUrl = await resolveAdminDatabaseUrl();
  url = withDatabase(adminUrl, name);
  folder = await mkdtemp(join(tmpdir(), "sf-migrations-"));
  await writeMigrations(folder);
});

afterAll(async () => {
  await Promise.all(opened.map((d) => d.close()));
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`drop database if exists "${name}" with (force)`);
  await admin.end();
  await rm(folder, { recursive: true, force: true });
});

describe("openDatabase", () => {
  it("creates a missing database and migrates it from two replicas at once without error", async () => {
    const both = await Promise.all([
      openDatabase({ url, service: "widgets", migrationsFolder: folder, logger }),
      openDatabase({ url, service: "widgets", migrationsFolder: folder, logger }),
    ]);
    opened.push(...both);
    const [first] = both;
    if (!first) throw new Error("no database");

    const applied = await first.sql`select count(*)::int as n from drizzle.__drizzle_migrations_widgets`;
    expect(applied[0]?.n).toBe(1);
    await first.db.execute(dsql`insert into widgets (id) values ('w-1')`);
    const rows = await first.sql`select id, made_at from widgets`;
    expect(rows[0]?.id).toBe("w-1");
  });

  it("keeps default type parsing on the raw client (drizzle parses only its own)", async () => {
    const db = opened[0];
    if (!db) throw new Error("no database");
    const [row] = await db.sql`select made_at from widgets`;
    expect(row?.made_at).toBeInstanceOf(Date);
  });

  it("applies nothing again when opened a second time", async () => {
    const again = await openDatabase({ url, service: "widgets", migrationsFolder: folder, logger });
    opened.push(again);
    const applied = await again.sql`select count(*)::int as n from drizzle.__drizzle_migrations_widgets`;
    expect(applied[0]?.n).toBe(1);
  });
});
