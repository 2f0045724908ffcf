import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import {
  freePort,
  type PrivateNatsServer,
  resolveAdminDatabaseUrl,
  startNatsServer,
  waitFor,
} from "@stockflow/testkit";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repoRoot, serviceNames } from "../support/stack.js";

// `pnpm start`'s script as a user runs it: its own process group in the foreground, Ctrl-C
// sent to the whole group (as a terminal does). `node scripts/start.mjs` rather than
// `pnpm start`: pnpm reports any run that got a SIGINT as failed, whatever its exit code. It reuses the machine's PostgreSQL (databases with a
// prefix of their own) and a private nats-server given through the environment.

const prefix = `sf_start_${randomBytes(4).toString("hex")}_`;
let nats: PrivateNatsServer;
let adminUrl: string;
let start: ChildProcess | undefined;
let output = "";

beforeAll(async () => {
  nats = await startNatsServer();
  adminUrl = await resolveAdminDatabaseUrl();
});

afterAll(async () => {
  if (start?.pid && start.exitCode === null) process.kill(-start.pid, "SIGKILL");
  start = undefined;
  const sql = postgres(adminUrl, { max: 1, onnotice: () => {} });
  for (const name of serviceNames)
    await sql.unsafe(`drop database if exists "${prefix}${name}" with (force)`);
  await sql.end();
  await nats?.dispose();
});

describe("pnpm start", () => {
  it("says where traces go, and on one Ctrl-C to its process group stops every service with exit 0, then itself with 0", async () => {
    const ports = {
      ORDERING_PORT: await freePort(),
      ALLOCATION_PORT: await freePort(),
      WAREHOUSE_PORT: await freePort(),
    };
    const noCollector = `http://127.0.0.1:${await freePort()}`;
    start = spawn(process.execPath, [join(repoRoot, "scripts", "start.mjs")], {
      cwd: repoRoot,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
      env: {
        ...process.env,
        DATABASE_URL: adminUrl,
        STOCKFLOW_DATABASE_PREFIX: prefix,
        NATS_URL: nats.url,
        OTEL_EXPORTER_OTLP_ENDPOINT: noCollector,
        ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])),
      },
    });
    start.stdout?.on("data", (c: Buffer) => {
      output += c.toString();
    });
    start.stderr?.on("data", (c: Buffer) => {
      output += c.toString();
    });
    const exited = new Promise<number | null>((resolve) => start?.once("exit", (code) => resolve(code)));
    await waitFor(async () => output.includes("stockflow is up"), {
      timeoutMs: 90_000,
      intervalMs: 200,
      message: "pnpm start to say it is up",
    }).catch((err) => {
      throw new Error(`${(err as Error).message}\n${output}`);
    });
    expect(output).toContain(`no OTLP endpoint answers on ${noCollector}: traces go nowhere`);
    expect(output).toContain("start Jaeger");
    expect(output).toContain(`using the NATS that answers on 127.0.0.1:${new URL(nats.url).port}`);

    process.kill(-(start.pid as number), "SIGINT");
    expect(await exited, output).toBe(0);
    for (const name of serviceNames) expect(output).toContain(`${name} exited (0)`);
    expect(output).not.toContain("second signal");
    expect(output).not.toMatch(/graceful stop failed|could not flush/);
  });
});
