import { createRequire } from "node:module";
import postgres from "postgres";
import { afterAll, describe, expect, it } from "vitest";
import {
  adminDatabaseUrl,
  createTestDatabase,
  type PrivateNatsServer,
  resolveAdminDatabaseUrl,
  startNatsServer,
  type TestDatabase,
} from "../src/index.js";
import { machineProbes } from "../src/machine.js";
import { chooseNats, choosePostgres, decide, LOCAL_ADMIN_URL, type Probe } from "../src/selection.js";

// testcontainers and its modules are CommonJS: once imported, by anyone, they sit in the
// require cache of this process.
const testcontainersLoaded = () =>
  Object.keys(createRequire(import.meta.url).cache).some((path) =>
    /[\\/]node_modules[\\/](testcontainers|@testcontainers)[\\/]/.test(path),
  );

function recording() {
  const asked: Probe[] = [];
  const probes = Object.fromEntries(
    Object.entries(machineProbes).map(([name, probe]) => [
      name,
      () => {
        asked.push(name as Probe);
        return probe();
      },
    ]),
  ) as typeof machineProbes;
  return { asked, probes };
}

// This machine's own servers, whatever the shell that started the tests has set.
const { TEST_DATABASE_ADMIN_URL, NATS_SERVER_BIN, TESTKIT_USE_CONTAINERS, ...machineEnv } = process.env;

let database: TestDatabase | undefined;
let nats: PrivateNatsServer | undefined;
afterAll(async () => {
  await nats?.dispose();
  await database?.drop();
});

describe("on a machine with PostgreSQL on 127.0.0.1:5432 and nats-server on the PATH", () => {
  it("chooses the shared PostgreSQL after one probe", async () => {
    const m = recording();
    await expect(decide(choosePostgres, machineEnv, m.probes)).resolves.toEqual({
      kind: "local",
      url: LOCAL_ADMIN_URL,
    });
    expect(m.asked).toEqual(["localPostgres"]);
  });

  it("chooses the nats-server binary after one probe", async () => {
    const m = recording();
    await expect(decide(chooseNats, machineEnv, m.probes)).resolves.toEqual({
      kind: "binary",
      bin: "nats-server",
    });
    expect(m.asked).toEqual(["natsServerOnPath"]);
  });

  it("creates databases and starts nats-server without ever loading testcontainers", async () => {
    expect(testcontainersLoaded()).toBe(false);
    database = await createTestDatabase("selection");
    nats = await startNatsServer();
    expect(await resolveAdminDatabaseUrl()).toBe(TEST_DATABASE_ADMIN_URL || LOCAL_ADMIN_URL);
    expect(adminDatabaseUrl()).toBe(await resolveAdminDatabaseUrl());
    const sql = postgres(database.url, { max: 1 });
    const [row] = await sql`select current_database() as name`;
    await sql.end();
    expect(row?.name).toBe(database.name);
    expect(nats.url).toBe(`nats://127.0.0.1:${nats.port}`);
    expect(nats.storeDir).toMatch(/sf-nats-/);
    expect(testcontainersLoaded()).toBe(false);
  });

  // Runs after the test above: it proves the check there can see testcontainers at all.
  it("notices testcontainers once its runtime detection has been asked", async () => {
    expect(typeof (await machineProbes.dockerDetected())).toBe("boolean");
    expect(testcontainersLoaded()).toBe(true);
  });
});
