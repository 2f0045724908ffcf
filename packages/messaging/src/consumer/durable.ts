import { AckPolicy, type ConsumerConfig, DeliverPolicy, jetstreamManager } from "@nats-io/jetstream";
import { type NatsConnection, nanos } from "@nats-io/nats-core";
import { type StreamName, streams } from "@stockflow/contracts";
import { type Takeover, takeoverStart } from "../durable-versions.js";

export interface DurableSettings {
  stream: StreamName;
  durable: string;
  ackWaitMs: number;
  /** Unacknowledged messages the server lets the durable have at once. */
  maxAckPending: number;
  /** The subjects it applies, on the broker for operators (`readsDescription`). */
  description?: string;
  /** A new durable replacing an older one that read older versions (durable-versions.ts). */
  takesOver?: Takeover;
}

/** The durable consumer's configuration on the server. */
export function durableConfig({
  stream,
  durable,
  ackWaitMs,
  maxAckPending,
  description,
}: DurableSettings): Partial<ConsumerConfig> {
  return {
    durable_name: durable,
    ...(description ? { description } : {}),
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    filter_subject: streams[stream].subjects[0],
    ack_wait: nanos(ackWaitMs),
    // Unlimited on the server: the runner decides when a message has failed enough and
    // dead-letters it itself, with the reason, instead of the server dropping it silently.
    max_deliver: -1,
    max_ack_pending: maxAckPending,
  };
}

/** Creates the durable, or updates what may change of an existing one. */
export async function ensureDurable(nc: NatsConnection, settings: DurableSettings): Promise<void> {
  const jsm = await jetstreamManager(nc);
  const config = durableConfig(settings);
  try {
    await jsm.consumers.info(settings.stream, settings.durable);
    await jsm.consumers.update(settings.stream, settings.durable, {
      ...(config.description ? { description: config.description } : {}),
      ack_wait: config.ack_wait,
      max_deliver: config.max_deliver,
      max_ack_pending: config.max_ack_pending,
    });
  } catch {
    const start = settings.takesOver ? await takeoverStart(jsm, settings.stream, settings.takesOver) : {};
    await jsm.consumers.add(settings.stream, { ...config, ...start });
  }
}

/** Messages of the stream that the durable has not had acked yet. */
export async function durablePending(
  nc: NatsConnection,
  stream: StreamName,
  durable: string,
): Promise<number> {
  const jsm = await jetstreamManager(nc);
  const info = await jsm.consumers.info(stream, durable);
  return info.num_pending + info.num_ack_pending;
}
