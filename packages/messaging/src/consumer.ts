import {
  AckPolicy,
  type ConsumerConfig,
  type ConsumerMessages,
  DeliverPolicy,
  type JsMsg,
  jetstream,
  jetstreamManager,
} from "@nats-io/jetstream";
import { type MsgHdrs, type NatsConnection, nanos } from "@nats-io/nats-core";
import { context, SpanStatusCode, trace } from "@opentelemetry/api";
import {
  type Contract,
  contractForSubject,
  type EventOf,
  parseSubject,
  type ServiceName,
  type StreamName,
  streams,
  validationErrors,
} from "@stockflow/contracts";
import { extractFromHeaders, startConsumerSpan } from "@stockflow/telemetry";
import { type DeadLetterReason, deadLetter } from "./dead-letter.js";
import { consumerMetrics } from "./metrics.js";
import { inbox } from "./schema.js";
import type { Database, Logger, Tx } from "./types.js";
import { isDatabaseUnavailable } from "./unavailable.js";

export interface MessageMeta {
  /** `ce-id` (or `Nats-Msg-Id`, or stream:sequence): the inbox key. */
  messageId: string;
  subject: string;
  streamSequence: number;
  deliveryCount: number;
  headers: MsgHdrs | undefined;
}

export interface Handler {
  readonly contract: Contract;
  run(tx: Tx, event: unknown, meta: MessageMeta): Promise<void>;
}

/** Binds a handler to the contract it handles; the event is typed from the contract. */
export function handle<C extends Contract>(
  contract: C,
  fn: (tx: Tx, event: EventOf<C>, meta: MessageMeta) => Promise<void>,
): Handler {
  return { contract, run: (tx, event, meta) => fn(tx, event as EventOf<C>, meta) };
}

export interface ConsumerOptions {
  service: ServiceName;
  durable: string;
  stream: StreamName;
  nc: NatsConnection;
  db: Database;
  logger: Logger;
  handlers: Handler[];
  /** Messages with the same key are handled one after another, in stream order. */
  keyOf?: (subject: string, event: unknown) => string;
  /** Messages handled at once (default 1). */
  concurrency?: number;
  /** Deliveries before a failing message goes to the DLQ (default 5). */
  maxAttempts?: number;
  /** Delay before redelivery after the n-th failure (nak delay); the last entry repeats. */
  retryDelaysMs?: number[];
  /** Errors worth retrying at once in-process, e.g. an optimistic concurrency conflict. */
  isTransient?: (err: unknown) => boolean;
  ackWaitMs?: number;
}

export interface Consumer {
  start(): Promise<void>;
  /** Stops fetching and waits for the messages in hand. */
  stop(): Promise<void>;
  isRunning(): boolean;
  /** Messages of the stream that the durable has not been delivered yet. */
  pending(): Promise<number>;
}

type Verdict =
  | { kind: "handle"; handler: Handler; event: unknown }
  | { kind: "skip" }
  | { kind: "dead"; reason: DeadLetterReason; error: string };

const IMMEDIATE_RETRIES = 10;
const utf8 = new TextDecoder();

export function createConsumer(options: ConsumerOptions): Consumer {
  const { service, durable, stream, nc, db, logger, handlers } = options;
  const concurrency = Math.max(1, options.concurrency ?? 1);
  const maxAttempts = options.maxAttempts ?? 5;
  const retryDelays = options.retryDelaysMs ?? [500, 2000, 5000, 10_000];
  const isTransient = options.isTransient ?? (() => false);
  const bySubject = new Map(handlers.map((h) => [h.contract.subject, h]));
  const handledEvents = new Set(handlers.map((h) => `${h.contract.producer}.${h.contract.event}`));
  const metrics = consumerMetrics();
  const js = jetstream(nc);

  let messages: ConsumerMessages | undefined;
  let loop: Promise<void> | undefined;
  let running = false;
  const inFlight = new Set<Promise<void>>();
  const chains = new Map<string, Promise<void>>();
  let freeSlot: (() => void) | undefined;

  function classify(m: JsMsg): Verdict {
    const handler = bySubject.get(m.subject);
    if (!handler) {
      // A contract we know but don't handle (another event of the stream, or another
      // major version published beside ours during a deprecation window) is not ours.
      if (contractForSubject(m.subject)) return { kind: "skip" };
      const parsed = parseSubject(m.subject);
      if (parsed && handledEvents.has(`${parsed.producer}.${parsed.event}`)) {
        return { kind: "dead", reason: "unknown_version", error: `no contract for ${m.subject}` };
      }
      return { kind: "skip" };
    }
    let event: unknown;
    try {
      event = JSON.parse(utf8.decode(m.data));
    } catch (err) {
      return { kind: "dead", reason: "invalid_json", error: (err as Error).message };
    }
    const errors = validationErrors(handler.contract, event);
    if (errors.length > 0) return { kind: "dead", reason: "schema_violation", error: errors.join("; ") };
    return { kind: "handle", handler, event };
  }

  function messageIdOf(m: JsMsg): string {
    return m.headers?.get("ce-id") || m.headers?.get("Nats-Msg-Id") || `${m.info.stream}:${m.seq}`;
  }

  async function runInTransaction(handler: Handler, event: unknown, meta: MessageMeta): Promise<boolean> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await db.transaction(async (tx) => {
          const recorded = await tx
            .insert(inbox)
            .values({ consumer: durable, messageId: meta.messageId, subject: meta.subject })
            .onConflictDoNothing()
            .returning({ id: inbox.messageId });
          if (recorded.length === 0) return false;
          await handler.run(tx, event, meta);
          return true;
        });
      } catch (err) {
        if (attempt < IMMEDIATE_RETRIES && isTransient(err)) {
          await new Promise((r) => setTimeout(r, Math.random() * 5 * (attempt + 1)));
          continue;
        }
        throw err;
      }
    }
  }

  async function sendToDlq(m: JsMsg, reason: DeadLetterReason, error: string): Promise<void> {
    await deadLetter(js, { consumerService: service, durable, msg: m, reason, error });
    metrics.deadLettered.inc({ consumer: durable, subject: m.subject, reason });
    logger.warn(
      { subject: m.subject, seq: m.seq, deliveryCount: m.info.deliveryCount, reason, error },
      "message dead-lettered",
    );
  }

  async function process(m: JsMsg, verdict: Verdict): Promise<void> {
    const messageId = messageIdOf(m);
    const parent = extractFromHeaders(m.headers);
    const span = startConsumerSpan(m.subject, messageId, parent, durable);
    const started = performance.now();
    await context.with(trace.setSpan(parent, span), async () => {
      try {
        if (verdict.kind === "skip") {
          m.ack();
          return;
        }
        if (verdict.kind === "dead") {
          span.setAttribute("error.type", verdict.reason);
          span.setStatus({ code: SpanStatusCode.ERROR, message: verdict.error });
          await sendToDlq(m, verdict.reason, verdict.error);
          m.ack();
          return;
        }
        const meta: MessageMeta = {
          messageId,
          subject: m.subject,
          streamSequence: m.seq,
          deliveryCount: m.info.deliveryCount,
          headers: m.headers,
        };
        const applied = await runInTransaction(verdict.handler, verdict.event, meta);
        m.ack();
        metrics.processed.inc({
          consumer: durable,
          subject: m.subject,
          outcome: applied ? "ok" : "duplicate",
        });
      } catch (err) {
        const e = err as Error;
        span.recordException(e);
        span.setStatus({ code: SpanStatusCode.ERROR, message: e.message });
        span.setAttribute("error.type", e.name || "Error");
        metrics.processed.inc({ consumer: durable, subject: m.subject, outcome: "failed" });
        const attempt = m.info.deliveryCount;
        // A transient error (a conflict that outlived the in-process retries) or a database
        // outage says nothing about the message itself: it is redelivered for as long as it
        // takes, never dead-lettered.
        if (
          verdict.kind === "handle" &&
          attempt >= maxAttempts &&
          !isTransient(err) &&
          !isDatabaseUnavailable(err)
        ) {
          try {
            await sendToDlq(m, "max_deliveries", e.message);
            m.ack();
            return;
          } catch (dlqErr) {
            logger.error({ err: dlqErr }, "could not dead-letter a message; it will be redelivered");
          }
        }
        const delay = retryDelays[Math.min(attempt - 1, retryDelays.length - 1)] ?? 1000;
        logger.warn(
          { err: e, subject: m.subject, seq: m.seq, attempt, delay },
          `handler failed: ${e.message}`,
        );
        m.nak(delay);
      } finally {
        span.end();
        metrics.duration.observe(
          { consumer: durable, subject: m.subject },
          (performance.now() - started) / 1000,
        );
      }
    });
  }

  function keyFor(m: JsMsg, verdict: Verdict): string {
    if (verdict.kind !== "handle" || !options.keyOf) return "";
    try {
      return options.keyOf(m.subject, verdict.event);
    } catch {
      return "";
    }
  }

  async function dispatch(m: JsMsg): Promise<void> {
    while (inFlight.size >= concurrency) {
      await new Promise<void>((r) => {
        freeSlot = r;
      });
    }
    const verdict = classify(m);
    const key = keyFor(m, verdict);
    const previous = chains.get(key) ?? Promise.resolve();
    const task: Promise<void> = previous
      .then(() => process(m, verdict))
      .catch((err) => logger.error({ err }, "unexpected consumer error"))
      .finally(() => {
        inFlight.delete(task);
        if (chains.get(key) === task) chains.delete(key);
        const f = freeSlot;
        freeSlot = undefined;
        f?.();
      });
    chains.set(key, task);
    inFlight.add(task);
  }

  async function ensureDurable(): Promise<void> {
    const jsm = await jetstreamManager(nc);
    const config: Partial<ConsumerConfig> = {
      durable_name: durable,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      filter_subject: streams[stream].subjects[0],
      ack_wait: nanos(options.ackWaitMs ?? 30_000),
      // Unlimited on the server: the runner decides when a message has failed enough and
      // dead-letters it itself, with the reason, instead of the server dropping it silently.
      max_deliver: -1,
      max_ack_pending: Math.max(1000, concurrency * 4),
    };
    try {
      await jsm.consumers.info(stream, durable);
      await jsm.consumers.update(stream, durable, {
        ack_wait: config.ack_wait,
        max_deliver: config.max_deliver,
        max_ack_pending: config.max_ack_pending,
      });
    } catch {
      await jsm.consumers.add(stream, config);
    }
  }

  return {
    async start() {
      await ensureDurable();
      const c = await js.consumers.get(stream, durable);
      messages = await c.consume({ max_messages: Math.max(64, concurrency * 4) });
      running = true;
      metrics.register(durable, this);
      loop = (async () => {
        try {
          for await (const m of messages!) await dispatch(m);
        } catch (err) {
          logger.error({ err }, `consumer ${durable} stopped: ${(err as Error).message}`);
        } finally {
          running = false;
        }
      })();
    },
    async stop() {
      messages?.stop();
      await loop;
      await Promise.allSettled([...inFlight]);
      running = false;
      metrics.unregister(durable);
    },
    isRunning: () => running,
    async pending() {
      const jsm = await jetstreamManager(nc);
      const info = await jsm.consumers.info(stream, durable);
      return info.num_pending + info.num_ack_pending;
    },
  };
}
