import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// The compose stack's init script, run against the machine's PostgreSQL with names of our
// own. That server trusts loopback connections, so this shows privileges, not passwords.
const INIT_SCRIPT = fileURLToPath(new URL("../../deploy/postgres/init.sh", import.meta.url));
const ADMIN_URL = process.env.TEST_DATABASE_ADMIN_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

const prefix = `sf_roles_${randomBytes(4).toString("hex")}`;
const names = {
  ordering: `${prefix}_ordering`,
  allocation: `${prefix}_allocation`,
  warehouse: `${prefix}_warehouse`,
};
const admin = new URL(ADMIN_URL);

function urlFor(role: string | undefined, database: string): string {
  const u = new URL(ADMIN_URL);
  if (role) {
    u.username = role;
    u.password = `${role}-secret`;
  }
  u.pathname = `/${database}`;
  return u.toString();
}

async function runInitScript(): Promise<string> {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    PGHOST: admin.hostname,
    PGPORT: admin.port || "5432",
    POSTGRES_USER: decodeURIComponent(admin.username) || "postgres",
    POSTGRES_DB: admin.pathname.slice(1) || "postgres",
    STOCKFLOW_SERVICES: Object.values(names).join(" "),
    // A shared server: leave its maintenance database as it is.
    STOCKFLOW_LOCK_POSTGRES_DB: "0",
  };
  for (const name of Object.values(names)) env[`${name.toUpperCase()}_DB_PASSWORD`] = `${name}-secret`;
  const { stdout } = await promisify(execFile)("sh", [INIT_SCRIPT], { env });
  return stdout;
}

const clients: postgres.Sql[] = [];
function client(url: string): postgres.Sql {
  const sql = postgres(url, { max: 1, onnotice: () => {}, connect_timeout: 5 });
  clients.push(sql);
  return sql;
}

const superuser = client(ADMIN_URL);

beforeAll(async () => {
  await runInitScript();
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.end({ timeout: 5 }).catch(() => {})));
  const sql = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
  try {
    for (const name of Object.values(names)) {
      await sql.unsafe(`drop database if exists "${name}" with (force)`);
      await sql.unsafe(`drop role if exists "${name}"`);
    }
  } finally {
    await sql.end();
  }
});

describe("deploy/postgres/init.sh: one role and one database per service", () => {
  it("creates each service's role owning only its own database, with a password", async () => {
    const rows = await superuser<
      { datname: string; owner: string; public_connect: boolean; scram: boolean }[]
    >`
      select d.datname, r.rolname as owner,
             has_database_privilege('public', d.oid, 'connect') as public_connect,
             r.rolpassword like 'SCRAM-SHA-256$%' as scram
      from pg_database d join pg_authid r on r.oid = d.datdba
      where d.datname like ${`${prefix}_%`} order by d.datname`;
    expect(rows).toEqual(
      [names.allocation, names.ordering, names.warehouse].map((n) => ({
        datname: n,
        owner: n,
        public_connect: false,
        scram: true,
      })),
    );
    const [ordering] = await superuser<{ super: boolean; createdb: boolean; createrole: boolean }[]>`
      select rolsuper as super, rolcreatedb as createdb, rolcreaterole as createrole
      from pg_roles where rolname = ${names.ordering}`;
    expect(ordering).toEqual({ super: false, createdb: false, createrole: false });
  });

  it("lets a service role create and use tables in its own database", async () => {
    const allocation = client(urlFor(names.allocation, names.allocation));
    await allocation`create table batches (reference text primary key, qty int not null)`;
    await allocation`insert into batches values ('b-1', 10)`;
    expect(await allocation`select reference, qty from batches`).toEqual([{ reference: "b-1", qty: 10 }]);
  });

  it("refuses the ordering role a connection to allocation's database", async () => {
    const intruder = client(urlFor(names.ordering, names.allocation));
    await expect(intruder`select 1`).rejects.toMatchObject({
      code: "42501",
      message: expect.stringMatching(/permission denied for database/),
    });
  });

  it("refuses the ordering role allocation's tables even inside allocation's database", async () => {
    // Belt and braces: were CONNECT granted by mistake, the tables would still be owner-only.
    const sql = client(urlFor(undefined, names.allocation));
    await expect(
      sql.begin(async (tx) => {
        await tx.unsafe(`set local role "${names.ordering}"`);
        return tx`select * from batches`;
      }),
    ).rejects.toMatchObject({
      code: "42501",
      message: expect.stringMatching(/permission denied for table batches/),
    });
    await expect(
      sql.begin(async (tx) => {
        await tx.unsafe(`set local role "${names.ordering}"`);
        return tx`create table stolen (x int)`;
      }),
    ).rejects.toMatchObject({ code: "42501" });
  });

  it("can run again on a stack that has its databases already", async () => {
    await expect(runInitScript()).resolves.toContain(`"${names.warehouse}" ready`);
  });
});
