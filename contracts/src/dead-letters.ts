/** Why a consumer dead-lettered a message. */
export const DEAD_LETTER_REASONS = [
  "invalid_json",
  "schema_violation",
  "unknown_version",
  "max_deliveries",
] as const;
export type DeadLetterReason = (typeof DEAD_LETTER_REASONS)[number];

/** Headers a dead letter carries besides the original message's own. */
export const DLQ_HEADERS = {
  reason: "dlq-reason",
  error: "dlq-error",
  originalSubject: "dlq-original-subject",
  originalStream: "dlq-original-stream",
  streamSequence: "dlq-stream-sequence",
  deliveryCount: "dlq-delivery-count",
  consumer: "dlq-consumer",
  failedAt: "dlq-failed-at",
  originalMsgId: "dlq-original-msg-id",
} as const;

const digits = { type: "string", pattern: "^[0-9]+$" };

/**
 * The JSON Schema of a dead letter's headers: the `dlq-*` headers saying why, beside the
 * original message's headers (CloudEvents, traceparent), which are kept as they were.
 */
export function deadLetterHeadersSchema(): object {
  const h = DLQ_HEADERS;
  return {
    type: "object",
    required: [
      h.reason,
      h.error,
      h.originalSubject,
      h.originalStream,
      h.streamSequence,
      h.deliveryCount,
      h.consumer,
      h.failedAt,
    ],
    properties: {
      [h.reason]: { type: "string", enum: [...DEAD_LETTER_REASONS], description: "why the consumer gave up" },
      [h.error]: { type: "string", description: "the error message, on one line (at most 1000 characters)" },
      [h.originalSubject]: { type: "string", description: "the subject the message was published on" },
      [h.originalStream]: { type: "string", description: "the stream the message was read from" },
      [h.streamSequence]: { ...digits, description: "the message's sequence in that stream" },
      [h.deliveryCount]: { ...digits, description: "how many times it was delivered to the consumer" },
      [h.consumer]: { type: "string", description: "the durable consumer that dead-lettered it" },
      [h.failedAt]: { type: "string", format: "date-time", description: "when it was dead-lettered" },
      [h.originalMsgId]: {
        type: "string",
        description: "the original Nats-Msg-Id (a dead letter gets its own, so a replay is not a duplicate)",
      },
    },
    additionalProperties: {
      type: "string",
      description: "the original message's headers, unchanged (ce-id, ce-type, traceparent, ...)",
    },
  };
}
