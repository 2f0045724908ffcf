import { deadLetterHeadersSchema } from "./dead-letters.js";
import type { Contract, ServiceName } from "./define.js";
import { allContracts } from "./registry.js";
import { snapshotText } from "./snapshots.js";
import { streams } from "./streams.js";
import { subscriptions } from "./subscriptions.js";

/** An AsyncAPI document as plain JSON. */
export type AsyncApiDocument = Record<string, unknown>;

const ref = (pointer: string) => ({ $ref: pointer });
// JSON Pointer escaping (RFC 6901) keeps refs valid whatever the key.
const pointerKey = (key: string) => key.replaceAll("~", "~0").replaceAll("/", "~1");

/** The CloudEvents (NATS binding, binary mode) and trace headers every event carries. */
function headersOf(contract: Contract): object {
  return {
    type: "object",
    required: [
      "ce-specversion",
      "ce-id",
      "ce-source",
      "ce-type",
      "ce-time",
      "content-type",
      "ce-datacontenttype",
      "Nats-Msg-Id",
      "traceparent",
    ],
    properties: {
      "ce-specversion": { type: "string", const: "1.0" },
      "ce-id": { type: "string", format: "uuid", description: "unique event id" },
      "ce-source": { type: "string", const: `/${contract.producer}` },
      "ce-type": { type: "string", const: contract.subject },
      "ce-time": { type: "string", format: "date-time", description: "when the event happened" },
      "content-type": { type: "string", const: "application/json" },
      "ce-datacontenttype": {
        type: "string",
        const: "application/json",
        description: "the content type under the CloudEvents NATS binding's name",
      },
      "Nats-Msg-Id": { type: "string", description: "equals ce-id: JetStream drops duplicates by it" },
      traceparent: {
        type: "string",
        pattern: "^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$",
        description: "W3C trace context of the span that published the event",
      },
      tracestate: { type: "string", description: "W3C trace state, when there is one" },
    },
  };
}

const DLQ_CHANNEL = "dlq";

/**
 * Builds the AsyncAPI 3.0 document of every contract: one channel per subject (with its
 * stream), its message (CloudEvents headers, payload = the contract's JSON Schema), and
 * which service sends and receives it. Pure and deterministic, so the committed file can be
 * compared with a fresh build.
 */
export function asyncApiDocument(
  contracts: readonly Contract[] = allContracts,
  consumers: Readonly<Record<ServiceName, readonly Contract[]>> = subscriptions,
): AsyncApiDocument {
  const channels: Record<string, unknown> = {};
  const operations: Record<string, unknown> = {};
  const messages: Record<string, unknown> = {};
  const schemas: Record<string, unknown> = {};

  // Sorted: module namespaces enumerate in a different order under tsx and under vitest.
  const sorted = [...contracts].sort((a, b) => a.subject.localeCompare(b.subject));
  for (const contract of sorted) {
    const key = pointerKey(contract.subject);
    const stream = Object.values(streams).find((s) => s.name === contract.stream);
    const messageRef = `#/channels/${key}/messages/${contract.event}`;
    const successor = contract.deprecated?.supersededBy.subject;
    const deprecation = successor
      ? ` Deprecated: superseded by ${successor}, published beside it until nobody reads it.`
      : "";
    // JSON Schema's own `deprecated` keyword, which AsyncAPI tools show; the contract's
    // snapshot stays as it was, since deprecating a version does not change it.
    schemas[contract.subject] = {
      ...JSON.parse(snapshotText(contract)),
      ...(successor ? { deprecated: true } : {}),
    };
    messages[contract.subject] = {
      name: contract.event,
      title: `${contract.event} v${contract.major}${successor ? " (deprecated)" : ""}`,
      ...(successor ? { summary: deprecation.trim() } : {}),
      contentType: "application/json",
      headers: headersOf(contract),
      payload: ref(`#/components/schemas/${key}`),
    };
    channels[contract.subject] = {
      address: contract.subject,
      title: contract.subject,
      description: `Stored in stream ${contract.stream} (${stream?.subjects.join(", ") ?? "?"}).${deprecation}`,
      messages: { [contract.event]: ref(`#/components/messages/${key}`) },
      "x-stream": contract.stream,
      ...(successor ? { "x-deprecated": true, "x-superseded-by": successor } : {}),
    };
    operations[`${contract.producer}.send.${contract.subject}`] = {
      action: "send",
      channel: ref(`#/channels/${key}`),
      summary: `${contract.producer} publishes ${contract.subject} through its transactional outbox.`,
      messages: [ref(messageRef)],
    };
    for (const [service, consumed] of Object.entries(consumers)) {
      if (!consumed.some((c) => c.subject === contract.subject)) continue;
      operations[`${service}.receive.${contract.subject}`] = {
        action: "receive",
        channel: ref(`#/channels/${key}`),
        summary: `${service} consumes ${contract.subject} with a durable JetStream consumer.`,
        messages: [ref(messageRef)],
      };
    }
  }

  channels[DLQ_CHANNEL] = {
    address: "dlq.{consumer}.{subject}",
    title: "dead letters",
    description: `Stored in stream DLQ (${streams.DLQ.subjects.join(", ")}): messages a consumer could not process.`,
    parameters: {
      consumer: { description: "the consuming service", enum: Object.keys(consumers) },
      subject: { description: "the subject the message was first published on" },
    },
    messages: { dead_letter: ref("#/components/messages/dead_letter") },
    "x-stream": streams.DLQ.name,
  };
  messages.dead_letter = {
    name: "dead_letter",
    title: "dead letter",
    summary:
      "The original body and headers, plus headers giving the reason, the error message, the original " +
      "subject, stream sequence and delivery count.",
    description:
      "A consumer dead-letters a message it cannot process at once (bad JSON, fails its schema, unknown " +
      "major version) or after its retries (max_deliveries), then goes on with the next. " +
      "`pnpm stockflow dlq list` shows them and `dlq replay <seq>` publishes one again on its original subject.",
    contentType: "application/json",
    headers: deadLetterHeadersSchema(),
    payload: {
      description:
        "The original message body, byte for byte: usually the JSON event of the contract named by " +
        "dlq-original-subject, but anything at all when dlq-reason is invalid_json or schema_violation.",
    },
  };
  for (const [service, consumed] of Object.entries(consumers)) {
    if (consumed.length === 0) continue;
    operations[`${service}.send.dlq`] = {
      action: "send",
      channel: ref(`#/channels/${DLQ_CHANNEL}`),
      summary: `${service} dead-letters what it cannot process to dlq.${service}.<subject>.`,
      messages: [ref(`#/channels/${DLQ_CHANNEL}/messages/dead_letter`)],
    };
  }

  return {
    asyncapi: "3.1.0",
    info: {
      title: "stockflow events",
      version: "1.0.0",
      description:
        "Events between the ordering, allocation and warehouse services over NATS JetStream. " +
        "Generated from @stockflow/contracts (pnpm --filter @stockflow/contracts docs): do not edit.",
    },
    defaultContentType: "application/json",
    servers: {
      local: { host: "127.0.0.1:4222", protocol: "nats", description: "NATS with JetStream" },
    },
    channels,
    operations,
    components: { messages, schemas },
  };
}

/** The committed file's text. */
export const asyncApiText = (document: AsyncApiDocument = asyncApiDocument()): string =>
  `${JSON.stringify(document, null, 2)}\n`;
