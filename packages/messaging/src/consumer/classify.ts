import type { JsMsg } from "@nats-io/jetstream";
import { type Contract, contractForSubject, parseSubject, validationErrors } from "@stockflow/contracts";
import type { DeadLetterReason } from "../dead-letter.js";
import type { Handler } from "./handlers.js";

/** What a consumer does with a message, decided from its subject and body alone. */
export type Verdict =
  | { kind: "handle"; handler: Handler; contract: Contract; event: unknown }
  | { kind: "skip" }
  | { kind: "dead"; reason: DeadLetterReason; error: string };

const utf8 = new TextDecoder();

/**
 * The verdicts of a consumer's handlers: a subject with a handler is parsed and validated
 * (dead-lettered when it is not JSON or breaks its contract); another version of an event
 * handled here, which no contract knows, is dead-lettered (`unknown_version`); anything else
 * is not ours and skipped.
 */
export function classifier(handlers: readonly Handler[]): (subject: string, data: Uint8Array) => Verdict {
  const bySubject = new Map<string, { handler: Handler; contract: Contract }>(
    handlers.flatMap((handler) =>
      handler.contracts.map((contract) => [contract.subject, { handler, contract }]),
    ),
  );
  const handledEvents = new Set(handlers.flatMap((h) => h.contracts.map((c) => `${c.producer}.${c.event}`)));
  return (subject, data) => {
    const bound = bySubject.get(subject);
    if (!bound) {
      // A contract we know but don't handle (another event of the stream, or another
      // major version published beside ours during a deprecation window) is not ours.
      if (contractForSubject(subject)) return { kind: "skip" };
      const parsed = parseSubject(subject);
      if (parsed && handledEvents.has(`${parsed.producer}.${parsed.event}`)) {
        return { kind: "dead", reason: "unknown_version", error: `no contract for ${subject}` };
      }
      return { kind: "skip" };
    }
    let event: unknown;
    try {
      event = JSON.parse(utf8.decode(data));
    } catch (err) {
      return { kind: "dead", reason: "invalid_json", error: (err as Error).message };
    }
    const errors = validationErrors(bound.contract, event);
    if (errors.length > 0) return { kind: "dead", reason: "schema_violation", error: errors.join("; ") };
    return { kind: "handle", ...bound, event };
  };
}

/** The inbox key of a message: `ce-id`, else `Nats-Msg-Id`, else stream:sequence. */
export function messageIdOf(m: Pick<JsMsg, "headers" | "seq" | "info">): string {
  return m.headers?.get("ce-id") || m.headers?.get("Nats-Msg-Id") || `${m.info.stream}:${m.seq}`;
}
