import { type JetStreamClient, jetstream } from "@nats-io/jetstream";
import { type NatsConnection, headers as natsHeaders } from "@nats-io/nats-core";
import { SpanStatusCode, trace } from "@opentelemetry/api";
import { injectIntoHeaders, restoreContext, startProducerSpan } from "@stockflow/telemetry";
import type { OutboxRow } from "../outbox/row.js";

// Stored header names replaced by the producer span's own: they describe the context the
// event was written under.
const TRACE_KEYS = new Set(["traceparent", "tracestate"]);

/** How a run of publishes ended: the rows published before the first failure, and that failure. */
export interface PublishRun<R> {
  done: R[];
  rest: R[];
  failure?: Error;
}

export interface Publisher {
  publish(row: OutboxRow): Promise<void>;
  /**
   * Publishes rows with many acks in flight, sent in order on the one connection (the
   * stream stores them in this order), and tells which were published before the first
   * failure: the rows after it go again, in outbox order.
   */
  publishAll<R extends OutboxRow>(rows: readonly R[]): Promise<PublishRun<R>>;
}

/** The first failure of a run of settled publishes, and the rows before it. */
export function prefixBeforeFailure<R>(
  rows: readonly R[],
  results: readonly PromiseSettledResult<unknown>[],
): PublishRun<R> {
  const first = results.findIndex((r) => r.status === "rejected");
  if (first === -1) return { done: [...rows], rest: [] };
  return {
    done: rows.slice(0, first),
    rest: rows.slice(first),
    failure: (results[first] as PromiseRejectedResult).reason as Error,
  };
}

/** Publishes outbox rows to JetStream under a producer span, with Nats-Msg-Id = ce-id. */
export function createPublisher(nc: NatsConnection, timeoutMs: number): Publisher {
  const js: JetStreamClient = jetstream(nc, { timeout: timeoutMs });
  async function publish(row: OutboxRow): Promise<void> {
    const stored = restoreContext(row.headers);
    const span = startProducerSpan(row.subject, row.eventId, stored);
    try {
      const h = natsHeaders();
      for (const [k, v] of Object.entries(row.headers)) if (!TRACE_KEYS.has(k)) h.set(k, v);
      injectIntoHeaders(trace.setSpan(stored, span), h);
      // Nats-Msg-Id = ce-id: a row published again after a crash is dropped by the broker.
      await js.publish(row.subject, JSON.stringify(row.payload), { msgID: row.eventId, headers: h });
    } catch (err) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
      span.setAttribute("error.type", (err as Error).name);
      throw err;
    } finally {
      span.end();
    }
  }
  return {
    publish,
    async publishAll(rows) {
      return prefixBeforeFailure(rows, await Promise.allSettled(rows.map(publish)));
    },
  };
}
