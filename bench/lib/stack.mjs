import { fork, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createTestDatabase, freePort, startNatsServer } from "@stockflow/testkit";
import { SERVICES } from "./build.mjs";

const here = dirname(fileURLToPath(import.meta.url));

/**
 * The OTLP receiver (otlp-sink.mjs) as a process of its own, as a collector would be: the
 * services' span export crosses a socket to another process, which parses every request.
 */
async function startOtlpSink() {
  const child = fork(join(here, "otlp-sink.mjs"), [], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const url = await new Promise((resolve, reject) => {
    child.once("message", (m) => resolve(m.url));
    child.once("exit", (code) => reject(new Error(`otlp sink exited (${code})`)));
  });
  return {
    url,
    pid: child.pid,
    stats: () =>
      new Promise((resolve) => {
        child.once("message", (m) => resolve(m.stats));
        child.send({ cmd: "stats" });
      }),
    /** Keep each span's times from now on (--hops). */
    timing: (on) => child.send({ cmd: "timing", on }),
    hops: () =>
      new Promise((resolve) => {
        child.once("message", (m) => resolve(m.hops));
        child.send({ cmd: "hops" });
      }),
    async dispose() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.disconnect();
      await exited;
    },
  };
}

/** The services' tracing settings: every span exported over OTLP to `sinkUrl`, or made and dropped. */
function tracingEnv(sinkUrl) {
  return sinkUrl
    ? { OTEL_TRACES_EXPORTER: "otlp", OTEL_EXPORTER_OTLP_ENDPOINT: sinkUrl }
    : // Spans are still made (traceparent on events) but exported nowhere.
      { OTEL_TRACES_EXPORTER: "none", OTEL_EXPORTER_OTLP_ENDPOINT: "" };
}

/** RSS figures of a process from /proc, in MB; undefined once it has exited. */
export function memoryOf(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (key) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? Number.NaN);
    return { rssMb: kb("VmRSS") / 1024, hwmMb: kb("VmHWM") / 1024 };
  } catch {
    return undefined;
  }
}

/**
 * One service as a child process of the bench (spawned here rather than through testkit's
 * startServiceProcess, because the bench reads /proc/<pid> for its memory).
 */
function serviceProcess({ name, root, env, port, nodeArgs, log }) {
  // Read at each start, so the stack can restart a service with other settings (tracing).
  let child;
  let output = "";
  /** Highest VmHWM of every incarnation (a restart resets the kernel's own peak). */
  let peakMb = 0;
  const url = `http://127.0.0.1:${port}`;

  const exited = (p) =>
    new Promise((resolve) => {
      if (p.exitCode !== null || p.signalCode !== null) resolve(p.exitCode);
      else p.once("exit", (code) => resolve(code));
    });

  async function ready(timeoutMs) {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (child.exitCode !== null)
        throw new Error(`${name} exited (${child.exitCode}):\n${output.slice(-3000)}`);
      try {
        const r = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(1000) });
        if (r.status === 200) return;
      } catch {}
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`${name} not ready after ${timeoutMs} ms:\n${output.slice(-3000)}`);
  }

  const svc = {
    name,
    url,
    port,
    get pid() {
      return child?.pid;
    },
    isRunning: () => child !== undefined && child.exitCode === null && child.signalCode === null,
    async start(timeoutMs = 60_000) {
      child = spawn(process.execPath, [...nodeArgs, join(root, "services", name, "dist", "main.js")], {
        cwd: root,
        env: { ...process.env, ...svc.env, PORT: String(port) },
        stdio: ["ignore", "pipe", "pipe"],
      });
      const keep = (d) => {
        output = (output + d.toString()).slice(-20_000);
      };
      child.stdout.on("data", keep);
      child.stderr.on("data", keep);
      child.once("exit", (code, signal) => {
        if (!svc.stopping) log(`${name} exited unexpectedly (code ${code}, signal ${signal})`);
      });
      svc.stopping = false;
      await ready(timeoutMs);
    },
    /** Memory now, and the peak over every incarnation so far. */
    memory() {
      const m = child && svc.isRunning() ? memoryOf(child.pid) : undefined;
      // An exiting process's status has no VmHWM (NaN), which would stick in the peak.
      if (m && Number.isFinite(m.hwmMb)) peakMb = Math.max(peakMb, m.hwmMb);
      return { rssMb: m?.rssMb, peakMb };
    },
    /** SIGTERM (graceful: the service drains and flushes its outbox); SIGKILL after 30 s. */
    async stop() {
      if (!child || !svc.isRunning()) return child?.exitCode ?? null;
      svc.memory();
      svc.stopping = true;
      const p = child;
      p.kill("SIGTERM");
      const timer = setTimeout(() => p.kill("SIGKILL"), 30_000);
      const code = await exited(p);
      clearTimeout(timer);
      return code;
    },
    kill() {
      if (child && svc.isRunning()) {
        svc.stopping = true;
        child.kill("SIGKILL");
      }
    },
    logs: () => output,
    stopping: false,
    env,
  };
  return svc;
}

/**
 * The whole stack on loopback: a private nats-server, a fresh database per service on the
 * machine's PostgreSQL, the OTLP receiver process, and the three services from their
 * dist/main.js, exporting every span to the receiver when `tracing` (see `restartAll`).
 */
export async function startStack({ root, cpuProf = [], log, tracing = true }) {
  const cleanups = [];
  const staffToken = `bench-${randomBytes(12).toString("hex")}`;
  const services = {};
  async function dispose() {
    await Promise.allSettled(Object.values(services).map((s) => s.stop()));
    for (const c of cleanups.reverse()) await c().catch(() => {});
    cleanups.length = 0;
  }
  process.once("exit", () => {
    for (const s of Object.values(services)) s.kill();
  });
  try {
    const nats = await startNatsServer();
    cleanups.push(() => nats.dispose());
    const otlp = await startOtlpSink();
    cleanups.push(() => otlp.dispose());
    const databases = {};
    for (const name of SERVICES) {
      const db = await createTestDatabase(`bench_${name}`);
      databases[name] = db;
      cleanups.push(() => db.drop());
    }
    const profileDir = join(root, "bench", "results", "profiles");
    if (cpuProf.length) mkdirSync(profileDir, { recursive: true });
    for (const name of SERVICES) {
      services[name] = serviceProcess({
        name,
        root,
        port: await freePort(),
        log,
        nodeArgs: [
          // The heap settings each service's `start` script and Dockerfile use (RSS under load).
          "--max-semi-space-size=8",
          "--max-old-space-size=1024",
          ...(cpuProf.includes(name) ? ["--cpu-prof", "--cpu-prof-dir", join(profileDir, name)] : []),
        ],
        env: {
          HOST: "127.0.0.1",
          DATABASE_URL: databases[name].url,
          NATS_URL: nats.url,
          WAREHOUSE_STAFF_TOKEN: staffToken,
          LOG_LEVEL: "warn",
          RATE_LIMIT_PER_MINUTE: "0",
          ...tracingEnv(tracing ? otlp.url : undefined),
        },
      });
    }
    await Promise.all(SERVICES.map((n) => services[n].start()));
    const stack = {
      nats,
      databases,
      services,
      staffToken,
      otlp,
      tracing,
      dispose,
      /** Stops the three services (SIGTERM, drained) and starts them again, tracing on or off. */
      async restartAll({ tracing: on }) {
        await Promise.all(Object.values(services).map((s) => s.stop()));
        for (const s of Object.values(services))
          s.env = { ...s.env, ...tracingEnv(on ? otlp.url : undefined) };
        await Promise.all(Object.values(services).map((s) => s.start()));
        stack.tracing = on;
      },
    };
    return stack;
  } catch (err) {
    await dispose();
    throw err;
  }
}
