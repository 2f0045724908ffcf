import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startNatsContainer } from "./containers.js";
import { TestInfrastructureError } from "./errors.js";
import { freePort, portAcceptsConnections } from "./free-port.js";
import { machineProbes } from "./machine.js";
import { chooseNats, decide, type NatsChoice } from "./selection.js";
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
  /** The JetStream store on this machine; reading it throws on the container path. */
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

let choice: Promise<NatsChoice> | undefined;

/** Binary or container, decided once per process (see selection.ts). */
function natsChoice(): Promise<NatsChoice> {
  choice ??= decide(chooseNats, process.env, machineProbes);
  return choice;
}

/**
 * A private `nats-server` with JetStream on a free port and a temporary store: the binary
 * (`NATS_SERVER_BIN` or `nats-server` on the PATH) on loopback, else, with a Docker engine,
 * a container. The contract fixes stream names, so tests that create streams each need
 * their own server.
 */
export async function startNatsServer(options: NatsServerOptions = {}): Promise<PrivateNatsServer> {
  const chosen = await natsChoice();
  if (chosen.kind === "unavailable") throw new TestInfrastructureError(chosen.message);
  if (chosen.kind === "container") {
    return startNatsContainer(options, chosen.image, chosen.via);
  }
  const bin = chosen.bin;
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
    // Without a listener a failed spawn (e.g. a wrong NATS_SERVER_BIN) kills the test process.
    let spawnError: Error | undefined;
    p.once("error", (err) => {
      spawnError = err;
    });
    child = p;
    running.add(p);
    p.once("exit", () => running.delete(p));
    await waitFor(
      async () => {
        if (spawnError) throw new Error(`cannot run ${bin}: ${spawnError.message}`);
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
