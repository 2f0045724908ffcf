import { type ServiceProcess, type ServiceProcessOptions, startServiceProcess } from "./service-process.js";

export interface ServiceReplicasOptions extends Omit<ServiceProcessOptions, "port" | "name"> {
  /** For logs and errors; replica i is named `<name>#<i>`. */
  name: string;
  /** How many processes (default 2). */
  count?: number;
}

/**
 * N processes of one service, as a deployment runs them: the same environment (database,
 * NATS, durables), each its own free port. Each replica is a ServiceProcess (stop, kill,
 * start again on its own port), so a test can crash or restart one while the others work.
 */
export interface ServiceReplicas {
  readonly name: string;
  readonly replicas: readonly ServiceProcess[];
  /** The replicas' base URLs, in order. */
  readonly urls: readonly string[];
  /**
   * Round robin over the replicas in rotation, as a load balancer in front of them would:
   * `stop` and `kill` take a replica out first, `start` puts it back once it is ready.
   */
  nextUrl(): string;
  /** Takes replica i out of rotation, then SIGTERM (or `signal`); resolves to its exit code. */
  stop(i: number, signal?: NodeJS.Signals): Promise<number | null>;
  /** Takes replica i out of rotation, then SIGKILL, as a crash. */
  kill(i: number): Promise<void>;
  /** Starts replica i again (same port and environment), waits until ready, puts it back in rotation. */
  start(i: number): Promise<void>;
  /** The recent output of every replica, each under its name. */
  logs(): string;
  /** SIGKILLs every replica still running. Never throws. */
  killAll(): Promise<void>;
}

/**
 * Starts `count` replicas of a service at once and waits until each is ready. If one fails
 * to start, the others are killed before the error is thrown.
 */
export async function startServiceReplicas(options: ServiceReplicasOptions): Promise<ServiceReplicas> {
  const { count = 2, name, ...rest } = options;
  const started = await Promise.allSettled(
    Array.from({ length: count }, (_, i) => startServiceProcess({ ...rest, name: `${name}#${i}` })),
  );
  const replicas = started.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
  const killAll = async () => {
    await Promise.allSettled(replicas.map((r) => r.kill()));
  };
  const failed = started.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) {
    await killAll();
    throw failed.reason;
  }
  const inRotation = new Set(replicas);
  const replica = (i: number) => {
    const r = replicas[i];
    if (!r) throw new Error(`${name} has no replica ${i} (${replicas.length} started)`);
    return r;
  };
  let next = 0;
  return {
    name,
    replicas,
    urls: replicas.map((r) => r.url),
    nextUrl() {
      const up = replicas.filter((r) => inRotation.has(r));
      // With every replica out, the caller meets the refusal a client would.
      return (up.length > 0 ? up[next++ % up.length]! : replica(0)).url;
    },
    stop(i, signal) {
      inRotation.delete(replica(i));
      return replica(i).stop(signal);
    },
    kill(i) {
      inRotation.delete(replica(i));
      return replica(i).kill();
    },
    async start(i) {
      await replica(i).start();
      inRotation.add(replica(i));
    },
    logs: () => replicas.map((r) => `--- ${r.name} ---\n${r.logs().slice(-4000)}`).join("\n"),
    killAll,
  };
}
