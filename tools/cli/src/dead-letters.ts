import {
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamManager,
  type StoredMsg,
} from "@nats-io/jetstream";
import { streams } from "@stockflow/contracts";
import { DLQ_HEADERS } from "@stockflow/messaging";
import { CliError } from "./output.js";

export const DLQ_STREAM = streams.DLQ.name;

/** A message of stream DLQ, read through the headers the consumer runner put on it. */
export interface DeadLetter {
  /** Sequence in stream DLQ: what `dlq replay <seq>` takes. */
  seq: number;
  subject: string;
  reason: string;
  error: string;
  consumer: string;
  originalSubject: string;
  originalStream: string;
  originalSequence: number;
  deliveryCount: number;
  ceId: string;
  traceparent: string;
  /** When the dead letter was stored in the DLQ. */
  storedAt: Date;
  message: StoredMsg;
}

export function toDeadLetter(m: StoredMsg): DeadLetter {
  const h = (key: string) => m.header?.get(key) ?? "";
  return {
    seq: m.seq,
    subject: m.subject,
    reason: h(DLQ_HEADERS.reason),
    error: h(DLQ_HEADERS.error),
    consumer: h(DLQ_HEADERS.consumer),
    originalSubject: h(DLQ_HEADERS.originalSubject),
    originalStream: h(DLQ_HEADERS.originalStream),
    originalSequence: Number(h(DLQ_HEADERS.streamSequence)) || 0,
    deliveryCount: Number(h(DLQ_HEADERS.deliveryCount)) || 0,
    ceId: h("ce-id"),
    traceparent: h("traceparent"),
    storedAt: m.time,
    message: m,
  };
}

async function dlqState(jsm: JetStreamManager) {
  try {
    return (await jsm.streams.info(DLQ_STREAM)).state;
  } catch (err) {
    if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound) {
      throw new CliError(`stream ${DLQ_STREAM} does not exist on this server (has any service started?)`);
    }
    throw err;
  }
}

/** Every dead letter, oldest first. The DLQ is small and read rarely: one get per sequence. */
export async function readDeadLetters(jsm: JetStreamManager): Promise<DeadLetter[]> {
  const state = await dlqState(jsm);
  const out: DeadLetter[] = [];
  for (let seq = state.first_seq; seq <= state.last_seq && out.length < state.messages; seq++) {
    const m = await jsm.streams.getMessage(DLQ_STREAM, { seq });
    if (m) out.push(toDeadLetter(m));
  }
  return out;
}

export async function readDeadLetter(jsm: JetStreamManager, seq: number): Promise<DeadLetter> {
  await dlqState(jsm);
  const m = await jsm.streams.getMessage(DLQ_STREAM, { seq });
  if (!m) throw new CliError(`no dead letter with sequence ${seq} in stream ${DLQ_STREAM}`);
  return toDeadLetter(m);
}
