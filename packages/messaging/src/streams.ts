import { jetstreamManager, RetentionPolicy, StorageType, type StreamConfig } from "@nats-io/jetstream";
import { type NatsConnection, nanos } from "@nats-io/nats-core";
import { type StreamName, streams } from "@stockflow/contracts";

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

/** Creates the contract's streams that do not exist yet; leaves existing ones as they are. */
export async function ensureStreams(nc: NatsConnection, names: readonly StreamName[]): Promise<void> {
  const jsm = await jetstreamManager(nc);
  for (const name of names) {
    const def = streams[name];
    try {
      await jsm.streams.info(def.name);
      continue;
    } catch {
      // not found (or not readable): try to create it below
    }
    try {
      await jsm.streams.add(streamConfig(name));
    } catch (err) {
      // Another service may have created it between our info and add.
      await jsm.streams.info(def.name).catch(() => {
        throw err;
      });
    }
  }
}
