import type { JetStreamClient, JsMsg } from "@nats-io/jetstream";
import { headers as natsHeaders } from "@nats-io/nats-core";
import { type DeadLetterReason, DLQ_HEADERS, dlqSubject } from "@stockflow/contracts";

// The names are part of the contract (the AsyncAPI document describes them).
export type { DeadLetterReason };
export { DLQ_HEADERS };

// Header values travel on one protocol line.
const oneLine = (s: string) => s.replace(/[\r\n]+/g, " ").slice(0, 1000);

export interface DeadLetterInput {
  consumerService: string;
  durable: string;
  msg: JsMsg;
  reason: DeadLetterReason;
  error: string;
}

/** Copies a message, body and headers as they were, to `dlq.<service>.<subject>` with why. */
export async function deadLetter(js: JetStreamClient, input: DeadLetterInput): Promise<void> {
  const { msg, reason } = input;
  const h = natsHeaders();
  if (msg.headers) {
    for (const key of msg.headers.keys()) {
      if (key.toLowerCase() === "nats-msg-id") continue;
      for (const value of msg.headers.values(key)) h.append(key, value);
    }
  }
  const originalId = msg.headers?.get("Nats-Msg-Id");
  if (originalId) h.set(DLQ_HEADERS.originalMsgId, originalId);
  h.set(DLQ_HEADERS.reason, reason);
  h.set(DLQ_HEADERS.error, oneLine(input.error) || reason);
  h.set(DLQ_HEADERS.originalSubject, msg.subject);
  h.set(DLQ_HEADERS.originalStream, msg.info.stream);
  h.set(DLQ_HEADERS.streamSequence, String(msg.seq));
  h.set(DLQ_HEADERS.deliveryCount, String(msg.info.deliveryCount));
  h.set(DLQ_HEADERS.consumer, input.durable);
  h.set(DLQ_HEADERS.failedAt, new Date().toISOString());
  await js.publish(dlqSubject(input.consumerService, msg.subject), msg.data, {
    headers: h,
    // The same message dead-lettered twice (a crash before the ack) is stored once.
    msgID: `dlq:${input.durable}:${msg.info.stream}:${msg.seq}`,
  });
}
