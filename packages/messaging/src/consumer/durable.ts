import { AckPolicy, type ConsumerConfig, DeliverPolicy, jetstreamManager } from "@nats-io/jetstream";
import { type NatsConnection, nanos } from "@nats-io/nats-core";
import { type StreamName, streams } from "@stockflow/contracts";

export interface DurableSettings {
  stream: StreamName;
  durable: string;
  ackWaitMs: number;
  /** Unacknowledged messages the server lets the durable have at once. */
  maxAckPending: number;
}

/** The durable consumer's configuration on the server. */
export function durableConfig({
  stream,
  durable,
  ackWaitMs,
  maxAckPending,
}: DurableSettings): Partial<ConsumerConfig> {
  return {
    durable_name: durable,
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
      ack_wait: config.ack_wait,
      max_deliver: config.max_deliver,
      max_ack_pending: config.max_ack_pending,
    });
  } catch {
    await jsm.consumers.add(settings.stream, config);
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
