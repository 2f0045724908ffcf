import { type Context, type Span, SpanKind, trace } from "@opentelemetry/api";
import { ATTR_SERVER_ADDRESS, ATTR_SERVER_PORT } from "@opentelemetry/semantic-conventions";
import {
  ATTR_MESSAGING_CONSUMER_GROUP_NAME,
  ATTR_MESSAGING_DESTINATION_NAME,
  ATTR_MESSAGING_MESSAGE_ID,
  ATTR_MESSAGING_OPERATION_NAME,
  ATTR_MESSAGING_OPERATION_TYPE,
  ATTR_MESSAGING_SYSTEM,
} from "@opentelemetry/semantic-conventions/incubating";
import { tracer } from "./attributes.js";

let broker: Record<string, string | number> = {};

/**
 * The NATS server the process is connected to ("host:port", as nats.js `getServer()` says),
 * put on every messaging span as `server.address`/`server.port`. Call on connect and
 * reconnect; one connection per process.
 */
export function setMessagingServer(hostPort: string | undefined): void {
  const match = /^\[?([^\]]*?)\]?:(\d+)$/.exec(hostPort ?? "");
  broker = match ? { [ATTR_SERVER_ADDRESS]: match[1] as string, [ATTR_SERVER_PORT]: Number(match[2]) } : {};
}

/**
 * A PRODUCER span `send <subject>` as a child of `parent` (for the outbox relay: the
 * context restored from the row). Inject the span's context into the message headers.
 */
export function startProducerSpan(subject: string, messageId: string, parent: Context): Span {
  return tracer().startSpan(
    `send ${subject}`,
    {
      kind: SpanKind.PRODUCER,
      attributes: {
        [ATTR_MESSAGING_SYSTEM]: "nats",
        [ATTR_MESSAGING_OPERATION_NAME]: "send",
        [ATTR_MESSAGING_OPERATION_TYPE]: "send",
        [ATTR_MESSAGING_DESTINATION_NAME]: subject,
        [ATTR_MESSAGING_MESSAGE_ID]: messageId,
        ...broker,
      },
    },
    parent,
  );
}

/**
 * A CONSUMER span `process <subject>` whose parent is the producer's context extracted
 * from the message, with a link to it as well (semconv: the link survives backends that
 * start a new trace per consumer).
 */
export function startConsumerSpan(
  subject: string,
  messageId: string,
  parent: Context,
  consumerGroup: string,
): Span {
  const producer = trace.getSpanContext(parent);
  return tracer().startSpan(
    `process ${subject}`,
    {
      kind: SpanKind.CONSUMER,
      attributes: {
        [ATTR_MESSAGING_SYSTEM]: "nats",
        [ATTR_MESSAGING_OPERATION_NAME]: "process",
        [ATTR_MESSAGING_OPERATION_TYPE]: "process",
        [ATTR_MESSAGING_DESTINATION_NAME]: subject,
        [ATTR_MESSAGING_MESSAGE_ID]: messageId,
        [ATTR_MESSAGING_CONSUMER_GROUP_NAME]: consumerGroup,
        ...broker,
      },
      links: producer ? [{ context: producer }] : [],
    },
    parent,
  );
}
