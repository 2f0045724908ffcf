import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { freePort } from "./free-port.js";
import { type PrivateNatsServer, startNatsServer } from "./nats-server.js";
import { waitFor } from "./wait-for.js";

export interface NatsClusterOptions {
  /** Servers in the cluster (default 3: the smallest that survives losing one). */
  size?: number;
}

export interface ClusterServer extends PrivateNatsServer {
  /** Its `server_name`, as JetStream names stream leaders. */
  readonly name: string;
}

export interface PrivateNatsCluster {
  readonly servers: readonly ClusterServer[];
  /** Every server's client URL. */
  readonly urls: readonly string[];
  /** The URLs comma separated, as `NATS_URL` takes them. */
  readonly url: string;
  /** The server leading `stream` now (asked of any live server). */
  streamLeader(stream: string): Promise<ClusterServer>;
  /** Resolves once every replica of each stream is online and caught up with its leader. */
  waitForReplicasCurrent(streams: readonly string[], timeoutMs?: number): Promise<void>;
  /** Resolves once JetStream can place a stream on every server (a meta leader, every peer known). */
  waitForJetStream(timeoutMs?: number): Promise<void>;
  /** Stops every server and deletes their stores. */
  dispose(): Promise<void>;
}

/**
 * A JetStream cluster of private `nats-server` processes on loopback: each its own
 * `server_name`, temporary store, client port and route port, all routes given to each.
 * A server's `kill()` and `start()` crash and restart it on the same ports and store.
 * Binary only (a cluster of containers is not supported).
 */
export async function startNatsCluster(options: NatsClusterOptions = {}): Promise<PrivateNatsCluster> {
  const size = options.size ?? 3;
  const clusterName = `sf-${process.pid}-${Date.now().toString(36)}`;
  const routePorts: number[] = [];
  for (let i = 0; i < size; i++) routePorts.push(await freePort());
  const routes = routePorts.map((p) => `nats://127.0.0.1:${p}`).join(",");

  const servers: ClusterServer[] = [];
  try {
    for (let i = 0; i < size; i++) {
      const name = `${clusterName}-n${i + 1}`;
      const server = await startNatsServer({
        args: [
          "--server_name",
          name,
          "--cluster_name",
          clusterName,
          "--cluster",
          `nats://127.0.0.1:${routePorts[i]}`,
          "--routes",
          routes,
        ],
      });
      servers.push(Object.assign(server, { name }));
    }
  } catch (err) {
    await Promise.allSettled(servers.map((s) => s.dispose()));
    throw err;
  }
  const urls = servers.map((s) => s.url);

  /** A short-lived client of the cluster, closed after `fn`. */
  async function withClient<T>(
    fn: (jsm: Awaited<ReturnType<typeof jetstreamManager>>) => Promise<T>,
  ): Promise<T> {
    const nc = await connect({ servers: [...urls], timeout: 2000, maxReconnectAttempts: 0 });
    try {
      return await fn(await jetstreamManager(nc, { timeout: 2000 }));
    } finally {
      await nc.close();
    }
  }

  const cluster: PrivateNatsCluster = {
    servers,
    urls,
    url: urls.join(","),
    async streamLeader(stream) {
      const leader = await withClient(async (jsm) => (await jsm.streams.info(stream)).cluster?.leader);
      const server = servers.find((s) => s.name === leader);
      if (!server) throw new Error(`stream ${stream} has no leader among this cluster's servers (${leader})`);
      return server;
    },
    async waitForReplicasCurrent(names, timeoutMs = 60_000) {
      await waitFor(
        () =>
          withClient(async (jsm) => {
            for (const name of names) {
              const { cluster: c } = await jsm.streams.info(name);
              if (!c?.leader || (c.replicas ?? []).some((r) => !r.current || r.offline)) return false;
            }
            return true;
          }),
        { timeoutMs, intervalMs: 250, message: `the replicas of ${names.join(", ")} caught up` },
      );
    },
    async waitForJetStream(timeoutMs = 30_000) {
      // A meta leader is not enough: a stream placed on every server needs every peer known.
      const probe = `SF_CLUSTER_PROBE_${process.pid}`;
      await waitFor(
        () =>
          withClient(async (jsm) => {
            await jsm.streams.add({ name: probe, subjects: [`sf.probe.${process.pid}`], num_replicas: size });
            return jsm.streams.delete(probe);
          }),
        {
          timeoutMs,
          intervalMs: 200,
          message: "the NATS cluster's JetStream",
        },
      );
    },
    async dispose() {
      await Promise.allSettled(servers.map((s) => s.dispose()));
    },
  };
  try {
    await cluster.waitForJetStream();
  } catch (err) {
    await cluster.dispose();
    throw err;
  }
  return cluster;
}
