import { readFileSync } from "node:fs";
import { jetstreamManager, RetentionPolicy, StorageType } from "@nats-io/jetstream";
import { credsAuthenticator, type NatsConnection, nanos } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";
import { type StreamName, streams } from "@stockflow/contracts";
import { outageLog } from "./outage-log.js";
import type { Logger } from "./types.js";

export interface NatsOptions {
  /** One URL or several (a list, or comma separated). */
  servers: string | readonly string[];
  user?: string;
  password?: string;
  credsFile?: string;
  name: string;
  logger: Logger;
}

/**
 * Connects and keeps reconnecting forever: a service outlives a broker restart instead of
 * exiting, and waits for a broker that is not up yet at start.
 */
export async function connectNats(options: NatsOptions): Promise<NatsConnection> {
  const { logger } = options;
  const nc = await connect({
    servers: (typeof options.servers === "string" ? options.servers.split(",") : [...options.servers])
      .map((s) => s.trim())
      .filter(Boolean),
    name: options.name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
    waitOnFirstConnect: true,
    // nats.js makes two Error objects per request (every JetStream publish), for async stack
    // traces: 2-4% of a service's CPU in its profile under load. Errors keep their messages.
    noAsyncTraces: true,
    ...(options.user ? { user: options.user, pass: options.password } : {}),
    ...(options.credsFile
      ? {
          authenticator: credsAuthenticator(
            new TextEncoder().encode(readFileSync(options.credsFile, "utf8")),
          ),
        }
      : {}),
  });
  logger.info({ server: nc.getServer() }, "connected to NATS");
  // One line when the connection drops, reminders while every reconnect attempt fails, one
  // line when it is back: not a line per attempt (every 500 ms).
  const outage = outageLog({ logger, dependency: "NATS", component: `connection ${options.name}` });
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === "error") logger.error({ err: s.error }, `NATS error: ${s.error.message}`);
      else if (s.type === "disconnect") outage.down(new Error(`disconnected from ${s.server}`));
      else if (s.type === "reconnecting") outage.down(new Error("reconnecting"));
      else if (s.type === "reconnect") outage.up();
    }
  })();
  return nc;
}

export interface EnsureStreamsOptions {
  /** `num_replicas` of the streams created here (NATS_STREAM_REPLICAS; default 1). */
  replicas?: number;
  /** Told when an existing stream has other replicas than `replicas`. */
  logger?: Logger;
}

/**
 * Creates the contract's streams that do not exist yet, with `replicas` replicas; leaves
 * existing ones as they are (an operator may have changed them on purpose), and says once
 * when their replicas differ from the setting.
 */
export async function ensureStreams(
  nc: NatsConnection,
  names: readonly StreamName[],
  { replicas = 1, logger }: EnsureStreamsOptions = {},
): Promise<void> {
  const jsm = await jetstreamManager(nc);
  for (const name of names) {
    const def = streams[name];
    try {
      const existing = (await jsm.streams.info(def.name)).config.num_replicas || 1;
      if (existing !== replicas) {
        logger?.warn(
          { stream: def.name, replicas: existing, NATS_STREAM_REPLICAS: replicas },
          `stream ${def.name} exists with ${existing} replica(s), not ${replicas}: kept as it is`,
        );
      }
      continue;
    } catch {
      // not found (or not readable): try to create it below
    }
    try {
      await jsm.streams.add({
        name: def.name,
        subjects: [...def.subjects],
        storage: StorageType.File,
        retention: RetentionPolicy.Limits,
        num_replicas: replicas,
        duplicate_window: nanos(def.duplicateWindowMs),
        description: def.description,
      });
    } catch (err) {
      // Another service may have created it between our info and add.
      await jsm.streams.info(def.name).catch(() => {
        throw err;
      });
    }
  }
}
