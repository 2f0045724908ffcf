import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import {
  createTestDatabase,
  type OtlpReceiver,
  type PrivateNatsServer,
  type ServiceProcess,
  type ServiceReplicas,
  startNatsServer,
  startOtlpReceiver,
  startServiceReplicas,
  type TestDatabase,
} from "@stockflow/testkit";
import { type ApiClient, apiClient, type ServiceUrls } from "./api.js";
import { type BusEvent, readStream, type StreamName } from "./bus.js";

export type ServiceName = "ordering" | "allocation" | "warehouse";
export const serviceNames: readonly ServiceName[] = ["ordering", "allocation", "warehouse"];

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/** Where a built service starts from: `node services/<name>/dist/main.js`. */
export const entryOf = (name: ServiceName) => join(repoRoot, "services", name, "dist", "main.js");

export interface StackOptions {
  /** Names the databases (sf_<label>_<service>_...), to tell leftovers apart. */
  label?: string;
  /** Start an OTLP/HTTP receiver and point every service's exporter at it. */
  tracing?: boolean;
  /** Extra environment per service (wins over the defaults below). */
  env?: Partial<Record<ServiceName, Record<string, string>>>;
  /** Extra nats-server arguments, e.g. ["-c", configFile]. */
  natsArgs?: string[];
  /** How long a service may take to answer 200 on /readyz (default 60 s: 2 shared cores). */
  readyTimeoutMs?: number;
  /**
   * Where the services' databases are created (default: testkit's shared server), e.g. a
   * private PostgreSQL from `startPostgresServer` that a fault test stops and starts.
   */
  adminDatabaseUrl?: string;
  /**
   * Processes per service (default 1), sharing its database and durables as a deployment's
   * replicas do. `api` spreads requests over the replicas in rotation; `stop`, `kill` and
   * `start` act on replica 0 unless given another.
   */
  replicas?: number;
}

export interface Stack {
  readonly urls: ServiceUrls;
  /** Replica 0 of each service. */
  readonly processes: Record<ServiceName, ServiceProcess>;
  /** Every replica of each service. */
  readonly replicas: Record<ServiceName, ServiceReplicas>;
  readonly databases: Record<ServiceName, TestDatabase>;
  readonly nats: PrivateNatsServer;
  /** Present when started with `tracing: true`. */
  readonly otlp: OtlpReceiver | undefined;
  /** A test client on the stack's nats-server (reconnects forever, survives a NATS restart). */
  readonly natsConnection: NatsConnection;
  readonly staffToken: string;
  /** The HTTP APIs of the three services. */
  readonly api: ApiClient;
  /** SIGTERM (or `signal`) to a replica (default 0), resolves to the exit code. */
  stop(name: ServiceName, signal?: NodeJS.Signals, replica?: number): Promise<number | null>;
  /** SIGKILL of a replica (default 0), as a crash. */
  kill(name: ServiceName, replica?: number): Promise<void>;
  /** Starts a stopped replica (default 0) again (same port, database and environment) and waits until ready. */
  start(name: ServiceName, replica?: number): Promise<void>;
  /** Stops nats-server (SIGTERM, or SIGKILL with `crash`) and starts it again on the same store. */
  restartNats(options?: { crash?: boolean }): Promise<void>;
  /** Every message of a stream, in order. */
  readStream<T = Record<string, unknown>>(stream: StreamName): Promise<BusEvent<T>[]>;
  /** The recent output of each service, for failure messages. */
  logs(name?: ServiceName): string;
  /** Kills every process, closes the receiver and connection, drops the databases. Never throws. */
  dispose(): Promise<void>;
}

/** Fails with a clear message when a service has not been built. */
export function assertBuilt(names: readonly ServiceName[] = serviceNames): void {
  const missing = names.filter((n) => !existsSync(entryOf(n)));
  if (missing.length > 0) {
    throw new Error(
      `e2e needs the built services; missing ${missing.map((n) => `services/${n}/dist/main.js`).join(", ")}. ` +
        "Run `pnpm build` (or `npx turbo run build`) first.",
    );
  }
}

/**
 * The whole system as separate processes: a private nats-server, one fresh database per
 * service, optionally an OTLP receiver, and the three services from their dist/main.js.
 * Anything started before a failure is torn down before the error is thrown.
 */
export async function startStack(options: StackOptions = {}): Promise<Stack> {
  assertBuilt();
  const label = options.label ?? "e2e";
  const staffToken = `e2e-staff-${randomBytes(12).toString("hex")}`;
  const cleanups: (() => Promise<unknown>)[] = [];
  const groups: Partial<Record<ServiceName, ServiceReplicas>> = {};

  async function disposeAll(): Promise<void> {
    // Processes first (they hold database sessions and NATS connections), then the rest.
    await Promise.allSettled(Object.values(groups).map((g) => g.killAll()));
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
    cleanups.length = 0;
  }

  try {
    const nats = await startNatsServer({ args: options.natsArgs });
    cleanups.push(() => nats.dispose());

    const otlp = options.tracing ? await startOtlpReceiver() : undefined;
    if (otlp) cleanups.push(() => otlp.close());

    const databases = {} as Record<ServiceName, TestDatabase>;
    for (const name of serviceNames) {
      const db = await createTestDatabase(`${label}_${name}`, options.adminDatabaseUrl);
      databases[name] = db;
      cleanups.push(() => db.drop());
    }

    const natsConnection = await connect({
      servers: nats.url,
      name: `e2e-${label}`,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 100,
    });
    cleanups.push(() => natsConnection.close());

    const envOf = (name: ServiceName): Record<string, string> => ({
      HOST: "127.0.0.1",
      DATABASE_URL: databases[name].url,
      NATS_URL: nats.url,
      WAREHOUSE_STAFF_TOKEN: staffToken,
      LOG_LEVEL: "warn",
      RATE_LIMIT_PER_MINUTE: "0",
      // Redelivery on a test's time scale (production: 30 s and 0.5, 2, 5, 10 s): a lost ack
      // comes back after 10 s and a failing message reaches the DLQ in under 2 s, so the
      // fault scenarios wait on the mechanism for seconds, not minutes.
      CONSUMER_ACK_WAIT_MS: "10000",
      CONSUMER_RETRY_DELAYS_MS: "100,250,500,1000",
      ...(otlp
        ? {
            OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
            OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
            OTEL_BSP_SCHEDULE_DELAY: "200",
            OTEL_TRACES_EXPORTER: "otlp",
          }
        : // Spans are still made (traceparent on events) but go nowhere, whatever the shell says.
          { OTEL_TRACES_EXPORTER: "none" }),
      ...options.env?.[name],
    });

    // Started together: each service creates the streams it needs, so no order is required.
    const started = await Promise.allSettled(
      serviceNames.map(async (name) => {
        groups[name] = await startServiceReplicas({
          name,
          count: options.replicas ?? 1,
          entry: entryOf(name),
          cwd: repoRoot,
          env: envOf(name),
          readyTimeoutMs: options.readyTimeoutMs ?? 60_000,
        });
      }),
    );
    const failures = started.flatMap((r) => (r.status === "rejected" ? [String(r.reason)] : []));
    if (failures.length > 0) throw new Error(`the stack did not start:\n${failures.join("\n")}`);

    const replicas = groups as Record<ServiceName, ServiceReplicas>;
    const all = Object.fromEntries(serviceNames.map((n) => [n, replicas[n].replicas[0]!])) as Record<
      ServiceName,
      ServiceProcess
    >;
    const urls: ServiceUrls = {
      ordering: all.ordering.url,
      allocation: all.allocation.url,
      warehouse: all.warehouse.url,
    };
    // Read at each request: the next replica in rotation, as behind a load balancer.
    const balanced: ServiceUrls = {
      get ordering() {
        return replicas.ordering.nextUrl();
      },
      get allocation() {
        return replicas.allocation.nextUrl();
      },
      get warehouse() {
        return replicas.warehouse.nextUrl();
      },
    };

    return {
      urls,
      processes: all,
      replicas,
      databases,
      nats,
      otlp,
      natsConnection,
      staffToken,
      api: apiClient(balanced, staffToken),
      stop: (name, signal, replica = 0) => replicas[name].stop(replica, signal),
      kill: (name, replica = 0) => replicas[name].kill(replica),
      start: (name, replica = 0) => replicas[name].start(replica),
      async restartNats({ crash = false } = {}) {
        await (crash ? nats.kill() : nats.stop());
        await nats.start();
      },
      readStream: (stream) => readStream(natsConnection, stream),
      logs: (name) => (name ? [name] : serviceNames).map((n) => replicas[n].logs()).join("\n"),
      dispose: disposeAll,
    };
  } catch (err) {
    await disposeAll();
    throw err;
  }
}
