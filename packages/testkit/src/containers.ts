import { readFile } from "node:fs/promises";
import { connect } from "node:net";
import { resolve } from "node:path";
import type { StartedTestContainer } from "testcontainers";
import { TestInfrastructureError } from "./errors.js";
import { freePort } from "./free-port.js";
import type { NatsServerOptions, PrivateNatsServer } from "./nats-server.js";
import type { DockerEvidence } from "./selection.js";
import { waitFor } from "./wait-for.js";

// Everything from testcontainers is imported inside the functions below: it is loaded only
// once a choice in selection.ts has settled on a container. Containers left running when the
// process ends are removed by testcontainers' reaper (Ryuk), unless TESTCONTAINERS_RYUK_DISABLED
// is set; `stopTestContainers` removes them sooner.

interface PostgresContainer {
  readonly url: string;
  stop(): Promise<void>;
}

// On globalThis, not in module state: vitest may evaluate this module again in the same
// process, and there must still be only one PostgreSQL container per process.
interface Slot {
  postgres?: Promise<PostgresContainer>;
  postgresUrl?: string;
  nats: Set<PrivateNatsServer>;
}
const SLOT = Symbol.for("@stockflow/testkit/containers");
const slot = (): Slot => {
  const g = globalThis as { [SLOT]?: Slot };
  g[SLOT] ??= { nats: new Set() };
  return g[SLOT];
};

function containerFailed(what: string, image: string, via: DockerEvidence, err: unknown): Error {
  const detail = err instanceof Error ? err.message : String(err);
  return new TestInfrastructureError(
    `Starting a ${what} container (${image}) failed; a Docker engine was expected from ${via}. ` +
      `Start the engine, or give the tests a local ${what} (see packages/testkit/README.md). Cause: ${detail}`,
    { cause: err },
  );
}

/** The process's PostgreSQL container, started on first use and shared by every caller. */
export function postgresContainer(image: string, via: DockerEvidence): Promise<PostgresContainer> {
  const s = slot();
  if (!s.postgres) {
    const starting = startPostgresContainer(image, via);
    s.postgres = starting;
    starting.then(
      (c) => {
        if (s.postgres === starting) s.postgresUrl = c.url;
      },
      // A failed start is not kept: the next caller tries again.
      () => {
        if (s.postgres === starting) s.postgres = undefined;
      },
    );
  }
  return s.postgres;
}

async function startPostgresContainer(image: string, via: DockerEvidence): Promise<PostgresContainer> {
  const { PostgreSqlContainer } = await import("@testcontainers/postgresql");
  try {
    const c = await new PostgreSqlContainer(image)
      .withUsername("postgres")
      .withPassword("postgres")
      .withDatabase("postgres")
      // As startPostgresServer: test data need no durability, e2e opens many sessions.
      .withCommand(["postgres", "-c", "fsync=off", "-c", "max_connections=200"])
      .start();
    return {
      url: c.getConnectionUri(),
      stop: async () => {
        await c.stop();
      },
    };
  } catch (err) {
    throw containerFailed("PostgreSQL", image, via, err);
  }
}

/** The admin URL of this process's PostgreSQL container, once it has started. */
export const startedPostgresContainerUrl = (): string | undefined => slot().postgresUrl;

/**
 * Stops and removes every container testkit started in this process (the shared PostgreSQL
 * and any nats-server still running). Safe to call when none was started. A later
 * createTestDatabase starts a new PostgreSQL container.
 */
export async function stopTestContainers(): Promise<void> {
  const s = slot();
  const pg = s.postgres;
  s.postgres = undefined;
  s.postgresUrl = undefined;
  const nats = [...s.nats];
  await Promise.allSettled([pg?.then((c) => c.stop()), ...nats.map((n) => n.dispose())]);
}

const CONTAINER_STORE = "/data";
const CONFIG_FLAGS = new Set(["-c", "-config", "--config"]);

/**
 * Rewrites nats-server arguments for a container: a config file named on this machine is
 * copied in and the argument points at the copy. Other host paths are not translated.
 */
export function natsContainerArgs(args: readonly string[]): {
  args: string[];
  configs: { source: string; target: string }[];
} {
  const out: string[] = [];
  const configs: { source: string; target: string }[] = [];
  const copy = (source: string) => {
    const target = `/etc/testkit/nats-${configs.length}.conf`;
    configs.push({ source: resolve(source), target });
    return target;
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    const eq = a.indexOf("=");
    const next = args[i + 1];
    if (CONFIG_FLAGS.has(a) && next !== undefined) {
      out.push(a, copy(next));
      i++;
    } else if (eq > 0 && CONFIG_FLAGS.has(a.slice(0, eq))) {
      out.push(`${a.slice(0, eq)}=${copy(a.slice(eq + 1))}`);
    } else {
      out.push(a);
    }
  }
  return { args: out, configs };
}

/**
 * The environment variables a nats config reads as `$NAME` that are set here: a spawned
 * nats-server inherits them, a container must be given them.
 */
export function envReferencedBy(config: string, env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [, name] of config.matchAll(/\$([A-Za-z_][A-Za-z0-9_]*)/g)) {
    const value = name === undefined ? undefined : env[name];
    if (name !== undefined && value !== undefined) out[name] = value;
  }
  return out;
}

/** Resolves true once a NATS server greets on host:port (a Docker port proxy accepts before it does). */
function natsGreets(port: number, host: string): Promise<boolean> {
  return new Promise((done) => {
    const s = connect({ port, host });
    const finish = (ok: boolean) => {
      s.destroy();
      done(ok);
    };
    s.setTimeout(2_000, () => finish(false));
    s.once("data", (d: Buffer) => finish(d.toString("latin1").startsWith("INFO ")));
    s.once("error", () => finish(false));
    s.once("close", () => finish(false));
  });
}

/**
 * startNatsServer on the container path: `nats-server -js` in a container, its client port
 * published on a fixed host port so that the URL survives stop/start as with the binary.
 */
export async function startNatsContainer(
  options: NatsServerOptions,
  image: string,
  via: DockerEvidence,
): Promise<PrivateNatsServer> {
  if (options.storeDir !== undefined) {
    throw new TestInfrastructureError(
      "startNatsServer({ storeDir }) needs the nats-server binary (put it on the PATH or set " +
        "NATS_SERVER_BIN): in a container the JetStream store lives inside the container.",
    );
  }
  const { GenericContainer, Wait, getContainerRuntimeClient } = await import("testcontainers");
  const port = options.port ?? (await freePort());
  const { args, configs } = natsContainerArgs(options.args ?? []);
  const environment: Record<string, string> = {};
  for (const c of configs)
    Object.assign(environment, envReferencedBy(await readFile(c.source, "utf8"), process.env));

  let started: StartedTestContainer;
  try {
    started = await new GenericContainer(image)
      .withCommand(["-js", "-sd", CONTAINER_STORE, ...args])
      .withExposedPorts({ container: 4222, host: port })
      .withCopyFilesToContainer(configs)
      .withEnvironment(environment)
      .withWaitStrategy(Wait.forLogMessage(/Server is ready/))
      .withStartupTimeout(60_000)
      .start();
  } catch (err) {
    throw containerFailed("nats-server", image, via, err);
  }
  const host = started.getHost();
  const client = await getContainerRuntimeClient();
  // testcontainers has no stop-then-start-again; the engine's own calls keep the container
  // (and the store in it) between the two.
  const engine = client.container.getById(started.getId());
  let running = true;
  let disposed = false;

  const server = {
    url: `nats://${host}:${port}`,
    port,
    async stop() {
      if (!running) return;
      running = false;
      await client.container.stop(engine, { timeout: 10_000 });
    },
    async kill() {
      if (!running) return;
      running = false;
      await engine.kill();
      await engine.wait();
    },
    async start() {
      if (disposed) throw new TestInfrastructureError("this nats-server container was disposed");
      if (running) return;
      await client.container.start(engine);
      running = true;
      await waitFor(() => natsGreets(port, host), {
        timeoutMs: 30_000,
        message: `nats-server container on ${host}:${port}`,
      });
    },
    async dispose() {
      if (disposed) return;
      disposed = true;
      running = false;
      slot().nats.delete(server);
      await started.stop();
    },
  } as PrivateNatsServer;
  // Not enumerable, so printing or spreading the server does not throw.
  Object.defineProperty(server, "storeDir", {
    enumerable: false,
    get() {
      throw new TestInfrastructureError(
        "storeDir: this nats-server runs in a container and its JetStream store is inside it " +
          `(${CONTAINER_STORE}), not on this machine.`,
      );
    },
  });
  slot().nats.add(server);
  return server;
}
