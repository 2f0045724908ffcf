import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, portAcceptsConnections } from "./free-port.js";
import { waitFor } from "./wait-for.js";

export interface NatsServerOptions {
  /** Extra command-line arguments, e.g. ["-c", configFile]. */
  args?: string[];
  /** Keep this JetStream store instead of a fresh temporary one. */
  storeDir?: string;
  port?: number;
}

export interface PrivateNatsServer {
  readonly url: string;
  readonly port: number;
  readonly storeDir: string;
  /** SIGTERM and wait for exit; the store is kept so `start` resumes it. */
  stop(): Promise<void>;
  /** SIGKILL, for crash scenarios. */
  kill(): Promise<void>;
  /** Start again on the same port with the same store. */
  start(): Promise<void>;
  /** Stop and delete the temporary store. */
  dispose(): Promise<void>;
}

const running = new Set<ChildProcess>();
process.once("exit", () => {
  for (const p of running) p.kill("SIGKILL");
});

/**
 * A private `nats-server` with JetStream on a free loopback port and a temporary store.
 * The contract fixes stream names, so tests that create streams each need their own server.
 */
export async function startNatsServer(options: NatsServerOptions = {}): Promise<PrivateNatsServer> {
  const port = options.port ?? (await freePort());
  const ownStore = !options.storeDir;
  const storeDir = options.storeDir ?? (await mkdtemp(join(tmpdir(), "sf-nats-")));
  let child: ChildProcess | undefined;

  const exited = (p: ChildProcess) =>
    new Promise<void>((resolve) => {
      if (p.exitCode !== null || p.signalCode !== null) resolve();
      else p.once("exit", () => resolve());
    });

  async function start(): Promise<void> {
    const bin = process.env.NATS_SERVER_BIN ?? "nats-server";
    const p = spawn(
      bin,
      ["-a", "127.0.0.1", "-p", String(port), "-js", "-sd", storeDir, ...(options.args ?? [])],
      {
        stdio: ["ignore", "ignore", "pipe"],
      },
    );
    let stderr = "";
    p.stderr?.on("data", (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000);
    });
    child = p;
    running.add(p);
    p.once("exit", () => running.delete(p));
    await waitFor(
      async () => {
        if (p.exitCode !== null) throw new Error(`nats-server exited: ${stderr}`);
        return portAcceptsConnections(port);
      },
      { timeoutMs: 10_000, message: `nats-server on port ${port}` },
    );
  }

  async function signal(sig: NodeJS.Signals): Promise<void> {
    const p = child;
    if (!p) return;
    child = undefined;
    p.kill(sig);
    await exited(p);
  }

  await start();
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    storeDir,
    stop: () => signal("SIGTERM"),
    kill: () => signal("SIGKILL"),
    start,
    async dispose() {
      await signal("SIGTERM");
      if (ownStore) await rm(storeDir, { recursive: true, force: true });
    },
  };
}
