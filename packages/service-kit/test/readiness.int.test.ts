import { createLogger } from "@stockflow/telemetry";
import {
  createTestDatabase,
  freePort,
  type PrivateNatsServer,
  startNatsServer,
  type TestDatabase,
} from "@stockflow/testkit";
import postgres, { type Sql } from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildHttpApp, readinessOf } from "../src/index.js";
import { connectNats } from "./nats.js";

let database: TestDatabase;
let nats: PrivateNatsServer;
let nc: Awaited<ReturnType<typeof connectNats>>;
let sql: Sql;
let unreachable: Sql;

beforeAll(async () => {
  database = await createTestDatabase("service_kit_ready");
  nats = await startNatsServer();
  nc = await connectNats(nats.url);
  sql = postgres(database.url, { max: 1, onnotice: () => {} });
  unreachable = postgres(`postgres://postgres@127.0.0.1:${await freePort()}/nowhere`, {
    max: 1,
    connect_timeout: 2,
  });
});

afterAll(async () => {
  await nc?.close();
  await Promise.all([sql?.end(), unreachable?.end({ timeout: 0 })]);
  await nats?.dispose();
  await database?.drop();
});

const running = { isRunning: () => true };
const stopped = { isRunning: () => false };
const logger = createLogger({ service: "readiness-test", level: "silent" });

describe("readinessOf", () => {
  it("is ready when the database answers, NATS is connected and every consumer runs", async () => {
    const report = await readinessOf({ sql, nc, consumers: [running, running] })();
    expect(report).toEqual({ ready: true, checks: { database: true, nats: true, consumers: true } });
  });

  it("names a stopped consumer", async () => {
    const report = await readinessOf({ sql, nc, consumers: [running, stopped] })();
    expect(report).toEqual({ ready: false, checks: { database: true, nats: true, consumers: false } });
  });

  it("names a database that does not answer", async () => {
    const report = await readinessOf({ sql: unreachable, nc, consumers: [running] })();
    expect(report).toEqual({ ready: false, checks: { database: false, nats: true, consumers: true } });
  });

  it("names a NATS connection that is closed", async () => {
    const closed = await connectNats(nats.url);
    await closed.close();
    const report = await readinessOf({ sql, nc: closed })();
    expect(report.checks.nats).toBe(false);
  });
});

describe("GET /readyz", () => {
  it("answers 200 with a real database and NATS", async () => {
    const app = await buildHttpApp({
      service: "test",
      logger,
      readiness: readinessOf({ sql, nc, consumers: [running] }),
    });
    const res = await app.inject({ method: "GET", url: "/readyz" });
    await app.close();
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: "ready", checks: { database: true, nats: true, consumers: true } });
  });

  it("answers 503 naming the database when its URL points to a closed port", async () => {
    const app = await buildHttpApp({
      service: "test",
      logger,
      readiness: readinessOf({ sql: unreachable, nc, consumers: [running] }),
    });
    const res = await app.inject({ method: "GET", url: "/readyz" });
    await app.close();
    expect(res.statusCode).toBe(503);
    expect(res.json()).toEqual({
      status: "not_ready",
      checks: { database: false, nats: true, consumers: true },
    });
  });
});
