import { type ChildProcess, spawn } from "node:child_process";
import { freePort } from "./free-port.js";
import { waitFor } from "./wait-for.js";

export interface ServiceProcessOptions {
  /** For logs and errors, e.g. "allocation". */
  name: string;
  /** The script node runs, e.g. services/allocation/dist/main.js. */
  entry: string;
  env?: Record<string, string | undefined>;
  /** Defaults to a free port, passed as PORT. */
  port?: number;
  /** Polled until it answers 200 (default /readyz). */
  readyPath?: string;
  readyTimeoutMs?: number;
  cwd?: string;
}

export interface ServiceProcess {
  readonly name: string;
  readonly port: number;
  readonly url: string;
  /** SIGTERM (or the given signal) and wait; resolves to the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** SIGKILL, as a crash. */
  kill(): Promise<void>;
  /** Starts it again with the same port and environment. */
  start(): Promise<void>;
  isRunning(): boolean;
  /** The last lines it wrote to stdout/stderr. */
  logs(): string;
}

const children = new Set<ChildProcess>();
process.once("exit", () => {
  for (const c of children) c.kill("SIGKILL");
});

/** A service as its own Node process, started and polled until ready, for e2e tests. */
export async function startServiceProcess(options: ServiceProcessOptions): Promise<ServiceProcess> {
  const port = options.port ?? (await freePort());
  const url = `http://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  let output = "";

  function exited(p: ChildProcess): Promise<number | null> {
    return new Promise((resolve) => {
      if (p.exitCode !== null || p.signalCode !== null) resolve(p.exitCode);
      else p.once("exit", (code) => resolve(code));
    });
  }

  async function start(): Promise<void> {
    const p = spawn(process.execPath, [options.entry], {
      cwd: options.cwd,
      env: { ...process.env, HOST: "127.0.0.1", ...options.env, PORT: String(port) },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const keep = (d: Buffer) => {
      output = (output + d.toString()).slice(-20_000);
    };
    p.stdout?.on("data", keep);
    p.stderr?.on("data", keep);
    child = p;
    children.add(p);
    p.once("exit", () => children.delete(p));
    await waitFor(
      async () => {
        if (p.exitCode !== null)
          throw new Error(`${options.name} exited with ${p.exitCode}:\n${output.slice(-3000)}`);
        const res = await fetch(`${url}${options.readyPath ?? "/readyz"}`);
        return res.status === 200;
      },
      {
        timeoutMs: options.readyTimeoutMs ?? 30_000,
        intervalMs: 100,
        message: `${options.name} ready on ${url}`,
      },
    ).catch(async (err: Error) => {
      // Never leave a process behind that did not become ready.
      if (p.exitCode === null && p.signalCode === null) {
        p.kill("SIGKILL");
        await exited(p);
      }
      child = undefined;
      throw new Error(`${err.message}\n--- ${options.name} output ---\n${output.slice(-3000)}`);
    });
  }

  await start();
  return {
    name: options.name,
    port,
    url,
    async stop(signal = "SIGTERM") {
      const p = child;
      if (!p) return null;
      child = undefined;
      p.kill(signal);
      return exited(p);
    },
    async kill() {
      const p = child;
      if (!p) return;
      child = undefined;
      p.kill("SIGKILL");
      await exited(p);
    },
    start,
    isRunning: () => child !== undefined && child.exitCode === null,
    logs: () => output,
  };
}
