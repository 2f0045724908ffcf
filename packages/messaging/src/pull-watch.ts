import type { ConsumerMessages, ConsumerNotification } from "@nats-io/jetstream";
import type { OutageLog } from "./outage-log.js";

/**
 * How long one pull request waits on the server. The client hears a heartbeat every half of
 * it and gives the pull up after two missed ones: when the server or the consumer leader
 * that held the pull dies, a new pull goes out after 5 s, not after nats.js's default 30 s.
 */
export const PULL_EXPIRES_MS = 5000;

export interface PullWatch {
  /** The server answered the last pull (heartbeat, messages, a new pull after a reset). */
  isPulling(): boolean;
}

// The server (or its JetStream) did not answer, or the consumer or stream is gone.
const STALLED = new Set<ConsumerNotification["type"]>([
  "heartbeats_missed",
  "consumer_not_found",
  "stream_not_found",
  "consumer_deleted",
  "no_responders",
  "exceeded_limits",
]);
// The server answered, or the client pulls again after checking the consumer exists.
const PULLING = new Set<ConsumerNotification["type"]>(["heartbeat", "next", "discard"]);

/**
 * Follows the notifications of a `consume()` to tell whether it actually pulls: the
 * iterator of messages stays open while its pulls go unanswered (a dead server, a stream
 * without a leader), so "the loop runs" says nothing. The outage is logged through `outage`.
 */
export function watchPulling(messages: ConsumerMessages, outage: OutageLog): PullWatch {
  let pulling = true;
  void (async () => {
    for await (const n of messages.status()) {
      if (STALLED.has(n.type)) {
        pulling = false;
        outage.down(new Error(`pull stalled: ${describe(n)}`));
      } else if (PULLING.has(n.type)) {
        pulling = true;
        outage.up();
      }
    }
  })().catch(() => {});
  return { isPulling: () => pulling };
}

function describe(n: ConsumerNotification): string {
  switch (n.type) {
    case "heartbeats_missed":
      return `${n.count} heartbeats missed`;
    case "consumer_not_found":
    case "stream_not_found":
      return n.type.replace(/_/g, " ");
    case "consumer_deleted":
    case "exceeded_limits":
      return `${n.type.replace(/_/g, " ")} (${n.code} ${n.description})`;
    case "no_responders":
      return `no responders (${n.code})`;
    default:
      return n.type;
  }
}
