import { randomUUID } from "node:crypto";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { headers, type MsgHdrs, type NatsConnection } from "@nats-io/nats-core";
import { connect as natsConnect } from "@nats-io/transport-node";
import type { Contract, EventOf } from "@stockflow/contracts";

export type { NatsConnection };

export const connect = (url: string) => natsConnect({ servers: url });

/**
 * Publishes an event as a producer service would: CloudEvents headers (ce-id also as
 * Nats-Msg-Id) and the JSON payload alone as body. Returns the ce-id.
 */
export async function publishEvent<C extends Contract>(
  nc: NatsConnection,
  contract: C,
  payload: EventOf<C>,
  id: string = randomUUID(),
): Promise<string> {
  const h = headers();
  h.set("ce-specversion", "1.0");
  h.set("ce-id", id);
  h.set("ce-source", `/${contract.producer}`);
  h.set("ce-type", contract.subject);
  h.set("ce-time", new Date().toISOString());
  h.set("content-type", "application/json");
  await jetstream(nc).publish(contract.subject, JSON.stringify(payload), { msgID: id, headers: h });
  return id;
}

export interface StreamMessage {
  subject: string;
  seq: number;
  headers: MsgHdrs;
  payload: Record<string, unknown>;
}

/** Every message the stream holds now, in order. */
export async function streamMessages(nc: NatsConnection, stream: string): Promise<StreamMessage[]> {
  const jsm = await jetstreamManager(nc);
  const { state } = await jsm.streams.info(stream);
  const out: StreamMessage[] = [];
  if (state.messages === 0) return out;
  for (let seq = state.first_seq; seq <= state.last_seq; seq++) {
    const m = await jsm.streams.getMessage(stream, { seq }).catch(() => null);
    if (m)
      out.push({
        subject: m.subject,
        seq: m.seq,
        headers: m.header,
        payload: m.json<Record<string, unknown>>(),
      });
  }
  return out;
}

/** How many consumers read the stream now. */
export async function consumerCount(nc: NatsConnection, stream: string): Promise<number> {
  const jsm = await jetstreamManager(nc);
  return (await jsm.streams.info(stream)).state.consumer_count;
}
