import type { JetStreamClient, JsMsg } from "@nats-io/jetstream";
import { type Context, context, type Span, SpanStatusCode, trace } from "@opentelemetry/api";
import type { Contract, EventOf } from "@stockflow/contracts";
import { extractFromHeaders, startConsumerSpan } from "@stockflow/telemetry";
import { type DeadLetterReason, deadLetter } from "../dead-letter.js";
import type { consumerMetrics } from "../metrics.js";
import { outageLog } from "../outage-log.js";
import { annotateSkipped } from "../skipped.js";
import type { Logger } from "../types.js";
import { isDatabaseUnavailable } from "../unavailable.js";
import type { Verdict } from "./classify.js";
import { messageIdOf } from "./classify.js";
import { deadLetters, type FailurePolicy, retryDelay } from "./failure-policy.js";
import type { BatchItem, Handler } from "./handlers.js";

/** A message for a handler, waiting for a batch. */
export interface Queued {
  m: JsMsg;
  /** performance.now() when received. */
  at: number;
  handler: Handler;
  contract: Contract;
  event: unknown;
  key: string;
}

/**
 * A message of a running batch, with its own span: a per-message handler runs under that
 * span, a batch handler under its first item's (each item's `within` reaches its own).
 */
export interface InHand extends Queued {
  item: BatchItem;
  span: Span;
  ctx: Context;
  started: number;
}

export interface SettleOptions {
  service: string;
  durable: string;
  js: JetStreamClient;
  metrics: ReturnType<typeof consumerMetrics>;
  logger: Logger;
  policy: FailurePolicy;
}

/**
 * How messages end: acked when handled, nak'ed with a delay when they failed, dead-lettered
 * (and acked) when the classifier refused them or they failed too often. Each under its
 * consumer span, counted in the consumer's metrics.
 */
export function settler({ service, durable, js, metrics, logger, policy }: SettleOptions) {
  // A database outage fails every message: one line for the outage, not one per message.
  const databaseOutage = outageLog({ logger, dependency: "PostgreSQL", component: `consumer ${durable}` });
  async function sendToDlq(m: JsMsg, reason: DeadLetterReason, error: string): Promise<void> {
    await deadLetter(js, { consumerService: service, durable, msg: m, reason, error });
    metrics.deadLettered.inc({ consumer: durable, subject: m.subject, reason });
    logger.warn(
      { subject: m.subject, seq: m.seq, deliveryCount: m.info.deliveryCount, reason, error },
      "message dead-lettered",
    );
  }

  function observe(m: JsMsg, span: Span, started: number): void {
    span.end();
    metrics.duration.observe({ consumer: durable, subject: m.subject }, (performance.now() - started) / 1000);
  }

  return {
    /** Messages no handler runs for: acked, or dead-lettered and acked. */
    async unhandled(m: JsMsg, verdict: Exclude<Verdict, { kind: "handle" }>): Promise<void> {
      const parent = extractFromHeaders(m.headers);
      const span = startConsumerSpan(m.subject, messageIdOf(m), parent, durable);
      const started = performance.now();
      if (verdict.kind === "skip") annotateSkipped(span, m.data);
      try {
        if (verdict.kind === "dead") {
          span.setAttribute("error.type", verdict.reason);
          span.setStatus({ code: SpanStatusCode.ERROR, message: verdict.error });
          // Inside the span: the "message dead-lettered" warning carries its trace_id.
          await context.with(trace.setSpan(parent, span), () => sendToDlq(m, verdict.reason, verdict.error));
        }
        m.ack();
      } catch (err) {
        const e = err as Error;
        span.recordException(e);
        span.setStatus({ code: SpanStatusCode.ERROR, message: e.message });
        metrics.processed.inc({ consumer: durable, subject: m.subject, outcome: "failed" });
        const delay = retryDelay(policy, m.info.deliveryCount);
        logger.warn({ err: e, subject: m.subject, seq: m.seq, delay }, `could not dead-letter: ${e.message}`);
        m.nak(delay);
      } finally {
        observe(m, span, started);
      }
    },

    /** A queued message about to run: its span starts now. */
    inHand(q: Queued): InHand {
      const messageId = messageIdOf(q.m);
      const parent = extractFromHeaders(q.m.headers);
      const span = startConsumerSpan(q.m.subject, messageId, parent, durable);
      const ctx = trace.setSpan(parent, span);
      return {
        ...q,
        item: {
          contract: q.contract,
          // Validated against the contract by the classifier.
          event: q.event as EventOf<Contract>,
          meta: {
            messageId,
            subject: q.m.subject,
            streamSequence: q.m.seq,
            deliveryCount: q.m.info.deliveryCount,
            headers: q.m.headers,
          },
          within: (fn) => context.with(ctx, fn),
        },
        span,
        ctx,
        started: performance.now(),
      };
    },

    succeeded(e: InHand, applied: boolean): void {
      databaseOutage.up();
      try {
        e.m.ack();
      } catch (err) {
        // Committed all the same: the redelivery finds its id in the inbox.
        logger.warn({ err, subject: e.m.subject, seq: e.m.seq }, "could not ack a handled message");
      }
      metrics.processed.inc({
        consumer: durable,
        subject: e.m.subject,
        outcome: applied ? "ok" : "duplicate",
      });
      observe(e.m, e.span, e.started);
    },

    async failed(e: InHand, err: unknown): Promise<void> {
      const { m, span } = e;
      const error = err as Error;
      try {
        span.recordException(error);
        span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
        span.setAttribute("error.type", error.name || "Error");
        metrics.processed.inc({ consumer: durable, subject: m.subject, outcome: "failed" });
        const attempt = m.info.deliveryCount;
        if (deadLetters(policy, attempt, err)) {
          try {
            await context.with(e.ctx, () => sendToDlq(m, "max_deliveries", error.message));
            m.ack();
            return;
          } catch (dlqErr) {
            logger.error({ err: dlqErr }, "could not dead-letter a message; it will be redelivered");
          }
        }
        const delay = retryDelay(policy, attempt);
        if (isDatabaseUnavailable(err)) databaseOutage.down(err);
        else
          logger.warn(
            { err: error, subject: m.subject, seq: m.seq, attempt, delay },
            `handler failed: ${error.message}`,
          );
        m.nak(delay);
      } finally {
        observe(m, span, e.started);
      }
    },
  };
}

export type Settler = ReturnType<typeof settler>;
