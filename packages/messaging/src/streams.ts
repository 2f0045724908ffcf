import { jetstreamManager, RetentionPolicy, StorageType, type StreamConfig } from "@nats-io/jetstream";
import { type NatsConnection, nanos } from "@nats-io/nats-core";
import { type StreamName, streams } from "@stockflow/contracts";
import type { Logger } from "./types.js";

/** The server configuration of one of the contract's streams: the one place streams are defined for JetStream. */
export function streamConfig(name: StreamName): Partial<StreamConfig> & { name: string; subjects: string[] } {
  const def = streams[name];
  return {
    name: def.name,
    subjects: [...def.subjects],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    duplicate_window: nanos(def.duplicateWindowMs),
    description: def.description,
  };
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
      await jsm.streams.add({ ...streamConfig(name), num_replicas: replicas });
    } catch (err) {
      // Another service may have created it between our info and add.
      await jsm.streams.info(def.name).catch(() => {
        throw err;
      });
    }
  }
}
