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
import { type Context, context, type Span, SpanStatusCode, trace } from "@opentelemetry/api";
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
import { sql } from "drizzle-orm";
import { type DeadLetterReason, deadLetter } from "./dead-letter.js";
import { watchDeadLetters } from "./dead-letter-metrics.js";
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

/** A message handed to a handler: its contract, its validated event and where it came from. */
export interface BatchItem<C extends Contract = Contract> {
  readonly contract: C;
  readonly event: EventOf<C>;
  readonly meta: MessageMeta;
  /**
   * Runs `fn` with this message's consumer span as the active context: span annotations,
   * and outbox rows made inside, belong to this message's trace rather than the call's.
   */
  within<T>(fn: () => T): T;
}

/** What a consumer runs for the messages of some contracts: built by `handle` or `handleBatch`. */
export interface Handler {
  readonly contracts: readonly Contract[];
  /** Whether consecutive messages of these contracts go to one call of `run`. */
  readonly batched: boolean;
  run(tx: Tx, items: readonly BatchItem[]): Promise<void>;
}

/** Binds a handler to the contract it handles; the event is typed from the contract. */
export function handle<C extends Contract>(
  contract: C,
  fn: (tx: Tx, event: EventOf<C>, meta: MessageMeta) => Promise<void>,
): Handler {
  return {
    contracts: [contract],
    batched: false,
    run: async (tx, items) => {
      for (const item of items) await fn(tx, item.event as EventOf<C>, item.meta);
    },
  };
}

/**
 * Binds one handler to several contracts and hands it the newly applied messages of a batch
 * together, so that it can load and write what they touch in a few statements instead of a
 * few per message. Items come in stream order; a run of them is cut by a message for another
 * handler, which runs between, in its stream position. The call is the unit of failure:
 * when it throws with several items, the consumer cannot tell which one is bad and runs
 * them one transaction each (see Failures in the README), so a call with one item must
 * behave as a per-message handler would.
 */
export function handleBatch<C extends Contract>(
  contracts: readonly C[],
  fn: (tx: Tx, items: BatchItem<C>[]) => Promise<void>,
): Handler {
  return { contracts, batched: true, run: (tx, items) => fn(tx, items as BatchItem<C>[]) };
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
  /** Transactions (batches) running at once, on disjoint sets of keys (default 1). */
  concurrency?: number;
  /**
   * Most messages one transaction handles (default 64): the messages already received when
   * a batch starts, never waiting for more. 1 gives one transaction per message.
   */
  batchSize?: number;
  /**
   * How long a batch smaller than batchSize may wait for more messages (default 0: it starts
   * at once). For a consumer nobody waits on, a few tens of ms turn many small transactions
   * into a few larger ones, leaving the CPU to the consumers on a request's path.
   */
  lingerMs?: number;
  /** Deliveries before a failing message goes to the DLQ (default 5). */
  maxAttempts?: number;
  /** Delay before redelivery after the n-th failure (nak delay); the last entry repeats. */
  retryDelaysMs?: number[];
  /** Errors worth retrying at once in-process, e.g. an optimistic concurrency conflict. */
  isTransient?: (err: unknown) => boolean;
  ackWaitMs?: number;
  /**
   * Called after each transaction that applied messages commits, with that transaction: e.g.
   * to hand the outbox rows its handlers wrote to the service's relay (`handOff`), or to
   * `wake()` it, when handlers write outbox rows without a NOTIFY.
   */
  afterCommit?: (tx: Tx) => void;
}

/** How a consumer redelivers: what operators tune per deployment (CONSUMER_* settings). */
export type Redelivery = Pick<ConsumerOptions, "ackWaitMs" | "retryDelaysMs" | "maxAttempts">;

export interface Consumer {
  start(): Promise<void>;
  /** Stops fetching and waits for the messages in hand. */
  stop(): Promise<void>;
  isRunning(): boolean;
  /** Messages of the stream that the durable has not been delivered yet. */
  pending(): Promise<number>;
}

type Verdict =
  | { kind: "handle"; handler: Handler; contract: Contract; event: unknown }
  | { kind: "skip" }
  | { kind: "dead"; reason: DeadLetterReason; error: string };

/** A message for a handler, waiting for a batch. */
interface Queued {
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
interface InHand extends Queued {
  item: BatchItem;
  span: Span;
  ctx: Context;
  started: number;
}

type Attempt = { ok: true; applied: boolean[] } | { ok: false; err: unknown; culprit: number | undefined };

const IMMEDIATE_RETRIES = 10;

/** An optimistic batch (see attempt) held a message already recorded in the inbox. */
class AlreadyRecorded extends Error {
  constructor() {
    super("the batch holds a message already handled: running it again after the inbox's answer");
    this.name = "AlreadyRecorded";
  }
}
// How many messages of one batch may fail on their own (each is nak'ed and the others run
// again as a batch) before the rest of the batch goes one message per transaction. Bounds
// the re-runs a batch full of failing messages costs.
const BLAMED_PER_BATCH = 2;
const utf8 = new TextDecoder();

/** SQLSTATE of an error or of one of its causes (drizzle wraps driver errors). */
function sqlState(err: unknown): string | undefined {
  for (let e = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && code.length === 5) return code;
  }
  return undefined;
}

export function createConsumer(options: ConsumerOptions): Consumer {
  const { service, durable, stream, nc, db, logger, handlers } = options;
  const concurrency = Math.max(1, options.concurrency ?? 1);
  const batchSize = Math.max(1, Math.min(1000, options.batchSize ?? 64));
  const maxAttempts = options.maxAttempts ?? 5;
  const retryDelays = options.retryDelaysMs ?? [500, 2000, 5000, 10_000];
  const isTransient = options.isTransient ?? (() => false);
  const bySubject = new Map<string, { handler: Handler; contract: Contract }>(
    handlers.flatMap((handler) =>
      handler.contracts.map((contract) => [contract.subject, { handler, contract }]),
    ),
  );
  const handledEvents = new Set(handlers.flatMap((h) => h.contracts.map((c) => `${c.producer}.${c.event}`)));
  const metrics = consumerMetrics();
  const js = jetstream(nc);
  // Received messages waiting for a batch: enough for a full batch besides the running ones.
  const maxQueued = (concurrency + 1) * batchSize;
  const maxMessages = Math.max(64, concurrency * 4, batchSize * 2);

  let messages: ConsumerMessages | undefined;
  let loop: Promise<void> | undefined;
  let running = false;
  /** Running batches and dead letters / skips in progress. */
  const tasks = new Set<Promise<void>>();
  let queue: Queued[] = [];
  /** Keys of the messages in running batches. */
  const held = new Set<string>();
  let batches = 0;
  let pumpScheduled = false;
  const lingerMs = Math.max(0, options.lingerMs ?? 0);
  let lingerTimer: NodeJS.Timeout | undefined;
  /** Stopping: what is queued runs now, without lingering. */
  let draining = false;
  let wakeReader: (() => void) | undefined;

  function classify(m: JsMsg): Verdict {
    const bound = bySubject.get(m.subject);
    if (!bound) {
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
    const errors = validationErrors(bound.contract, event);
    if (errors.length > 0) return { kind: "dead", reason: "schema_violation", error: errors.join("; ") };
    return { kind: "handle", ...bound, event };
  }

  function messageIdOf(m: JsMsg): string {
    return m.headers?.get("ce-id") || m.headers?.get("Nats-Msg-Id") || `${m.info.stream}:${m.seq}`;
  }

  function keyFor(m: JsMsg, event: unknown): string {
    if (!options.keyOf) return "";
    try {
      return options.keyOf(m.subject, event);
    } catch {
      return "";
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

  /** Messages no handler runs for: acked, or dead-lettered and acked. */
  async function settleUnhandled(m: JsMsg, verdict: Exclude<Verdict, { kind: "handle" }>): Promise<void> {
    const parent = extractFromHeaders(m.headers);
    const span = startConsumerSpan(m.subject, messageIdOf(m), parent, durable);
    const started = performance.now();
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
      const delay = retryDelays[Math.min(m.info.deliveryCount - 1, retryDelays.length - 1)] ?? 1000;
      logger.warn({ err: e, subject: m.subject, seq: m.seq, delay }, `could not dead-letter: ${e.message}`);
      m.nak(delay);
    } finally {
      span.end();
      metrics.duration.observe(
        { consumer: durable, subject: m.subject },
        (performance.now() - started) / 1000,
      );
    }
  }

  function inHand(q: Queued): InHand {
    const messageId = messageIdOf(q.m);
    const parent = extractFromHeaders(q.m.headers);
    const span = startConsumerSpan(q.m.subject, messageId, parent, durable);
    const ctx = trace.setSpan(parent, span);
    return {
      ...q,
      item: {
        contract: q.contract,
        // Validated against the contract in classify.
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
  }

  function observe(e: InHand): void {
    e.span.end();
    metrics.duration.observe(
      { consumer: durable, subject: e.m.subject },
      (performance.now() - e.started) / 1000,
    );
  }

  function succeeded(e: InHand, applied: boolean): void {
    try {
      e.m.ack();
    } catch (err) {
      // Committed all the same: the redelivery finds its id in the inbox.
      logger.warn({ err, subject: e.m.subject, seq: e.m.seq }, "could not ack a handled message");
    }
    metrics.processed.inc({ consumer: durable, subject: e.m.subject, outcome: applied ? "ok" : "duplicate" });
    observe(e);
  }

  async function failed(e: InHand, err: unknown): Promise<void> {
    const { m, span } = e;
    const error = err as Error;
    try {
      span.recordException(error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
      span.setAttribute("error.type", error.name || "Error");
      metrics.processed.inc({ consumer: durable, subject: m.subject, outcome: "failed" });
      const attempt = m.info.deliveryCount;
      // A transient error (a conflict that outlived the in-process retries) or a database
      // outage says nothing about the message itself: it is redelivered for as long as it
      // takes, never dead-lettered.
      if (attempt >= maxAttempts && !isTransient(err) && !isDatabaseUnavailable(err)) {
        try {
          await context.with(e.ctx, () => sendToDlq(m, "max_deliveries", error.message));
          m.ack();
          return;
        } catch (dlqErr) {
          logger.error({ err: dlqErr }, "could not dead-letter a message; it will be redelivered");
        }
      }
      const delay = retryDelays[Math.min(attempt - 1, retryDelays.length - 1)] ?? 1000;
      logger.warn(
        { err: error, subject: m.subject, seq: m.seq, attempt, delay },
        `handler failed: ${error.message}`,
      );
      m.nak(delay);
    } finally {
      observe(e);
    }
  }

  /**
   * The calls one transaction makes for the newly applied messages of a batch, in stream
   * order: a per-message handler gets one call per message; a batch handler one call for each
   * run of consecutive applied messages that are its own (duplicates in between, which run
   * nothing, do not cut a run).
   */
  function callsOf(batch: InHand[], applied: boolean[]): number[][] {
    const calls: number[][] = [];
    for (let i = 0; i < batch.length; i++) {
      if (!applied[i]) continue;
      const { handler } = batch[i]!;
      const open = calls.at(-1);
      if (open && handler.batched && batch[open[0]!]!.handler === handler) open.push(i);
      else calls.push([i]);
    }
    return calls;
  }

  /**
   * One transaction for the whole batch: one inbox insert for every message id, then the
   * handlers of the newly recorded ones in stream order (see callsOf). A per-message call
   * runs under its message's span; a batch call runs under its first item's, so that its
   * statements, and whatever it does outside `item.within`, land in a trace of the batch
   * (and a call of one item behaves as a per-message one). Transient errors run the batch
   * again at once. On failure, `culprit` is the message whose handler threw when the error
   * is that message's own (not the database's, nor a conflict, nor the aborted transaction an
   * earlier handler left behind, nor a batch call of several messages, which names none).
   */
  async function attempt(batch: InHand[]): Promise<Attempt> {
    // The first copy of an id is the one handled; a copy later in the batch is a duplicate.
    const first = new Map<string, number>();
    batch.forEach((e, i) => {
      if (!first.has(e.item.meta.messageId)) first.set(e.item.meta.messageId, i);
    });
    const ids = [...first.keys()];
    const subjects = [...first.values()].map((i) => batch[i]!.m.subject);
    const unique = batch.map((e, i) => first.get(e.item.meta.messageId) === i);
    // A batch of first deliveries is almost always all new: its handlers start right behind
    // the inbox insert instead of waiting for its answer (their first statements follow it on
    // the connection without a round trip in between), and the answer is checked before
    // commit. A batch that held an id already recorded is rolled back and runs again, this
    // time after the answer. Redeliveries wait for it from the start.
    let optimistic = batch.every((e) => e.m.info.deliveryCount === 1);
    for (let n = 0; ; n++) {
      let current: number | undefined;
      const run = async (tx: Tx, applied: boolean[]) => {
        for (const call of callsOf(batch, applied)) {
          const head = batch[call[0]!]!;
          const items = call.map((i) => batch[i]!.item);
          current = call.length === 1 ? call[0] : undefined;
          await context.with(head.ctx, () => head.handler.run(tx, items));
        }
        current = undefined;
      };
      try {
        let committed: Tx | undefined;
        const applied = await db.transaction(async (tx) => {
          committed = tx;
          // Ids as arrays keep the statement's text the same whatever the batch's size, so it is
          // prepared once per connection: a round trip per batch instead of two.
          const recording = tx
            .insert(inbox)
            .select(
              sql`select ${durable}::text, t.id, t.subject, now()
                from unnest(${sql.param(ids)}::text[], ${sql.param(subjects)}::text[]) as t (id, subject)`,
            )
            .onConflictDoNothing()
            .returning({ id: inbox.messageId })
            .prepare("stockflow_inbox_record")
            .execute();
          const freshOf = async () => new Set((await recording).map((r) => r.id));
          if (optimistic) {
            const allNew = async () => {
              const fresh = await freshOf();
              if (ids.some((id) => !fresh.has(id))) throw new AlreadyRecorded();
            };
            try {
              await run(tx, unique);
            } catch (err) {
              // A failure may come from running a message already handled: the inbox says.
              await allNew();
              throw err;
            }
            await allNew();
            return unique;
          }
          const fresh = await freshOf();
          const applied = batch.map((e, i) => unique[i]! && fresh.has(e.item.meta.messageId));
          await run(tx, applied);
          return applied;
        });
        if (applied.some(Boolean) && committed) options.afterCommit?.(committed);
        return { ok: true, applied };
      } catch (err) {
        if (err instanceof AlreadyRecorded && optimistic) {
          optimistic = false;
          continue;
        }
        if (n < IMMEDIATE_RETRIES && isTransient(err)) {
          await new Promise((r) => setTimeout(r, Math.random() * 5 * (n + 1)));
          continue;
        }
        const own = !isTransient(err) && !isDatabaseUnavailable(err) && sqlState(err) !== "25P02";
        return { ok: false, err, culprit: own ? current : undefined };
      }
    }
  }

  async function runBatch(queued: Queued[]): Promise<void> {
    let batch = queued.map(inHand);
    for (let blamed = 0; ; blamed++) {
      const result = await attempt(batch);
      if (result.ok) {
        for (const [i, e] of batch.entries()) succeeded(e, result.applied[i]!);
        return;
      }
      if (batch.length === 1) return failed(batch[0]!, result.err);
      if (isDatabaseUnavailable(result.err)) {
        // One transaction per message would only meet the same outage (or its connect
        // timeout) once per message: they are all redelivered later.
        for (const e of batch) await failed(e, result.err);
        return;
      }
      const { culprit } = result;
      if (culprit === undefined || blamed >= BLAMED_PER_BATCH) break;
      // That message fails on its own: it goes the way of a failed message (nak, or DLQ
      // after maxAttempts) and the others, rolled back with it, run again.
      await failed(batch[culprit]!, result.err);
      batch = batch.filter((_, i) => i !== culprit);
    }
    // Nothing tells which message the failure belongs to: one transaction per message, as an
    // unbatched consumer would, so each failure is attributed, retried and dead-lettered alone.
    for (const e of batch) {
      const result = await attempt([e]);
      if (result.ok) succeeded(e, result.applied[0]!);
      else await failed(e, result.err);
    }
  }

  /**
   * The next batch: queued messages in stream order whose keys no running batch holds, up
   * to batchSize. A message of a held key stays queued, and so does every later one of that
   * key, so a key's messages run in stream order and never in two transactions at once.
   */
  function takeBatch(): Queued[] {
    const batch: Queued[] = [];
    const rest: Queued[] = [];
    for (const q of queue) {
      if (batch.length < batchSize && !held.has(q.key)) batch.push(q);
      else rest.push(q);
    }
    queue = rest;
    return batch;
  }

  function track(task: Promise<void>, done?: () => void): void {
    const tracked: Promise<void> = task
      .catch((err) => logger.error({ err }, "unexpected consumer error"))
      .finally(() => {
        tasks.delete(tracked);
        done?.();
        const wake = wakeReader;
        wakeReader = undefined;
        wake?.();
      });
    tasks.add(tracked);
  }

  /** A batch may start: a full one, or one whose oldest message waited lingerMs. */
  function due(): boolean {
    if (lingerMs === 0 || draining || queue.length >= batchSize) return true;
    const wait = queue[0]!.at + lingerMs - performance.now();
    if (wait <= 0) return true;
    if (!lingerTimer) {
      lingerTimer = setTimeout(() => {
        lingerTimer = undefined;
        pump();
      }, wait);
    }
    return false;
  }

  function pump(): void {
    while (batches < concurrency && queue.length > 0 && due()) {
      const batch = takeBatch();
      if (batch.length === 0) break;
      const keys = new Set(batch.map((q) => q.key));
      for (const key of keys) held.add(key);
      batches++;
      track(runBatch(batch), () => {
        batches--;
        for (const key of keys) held.delete(key);
        pump();
      });
    }
    if (queue.length < maxQueued) {
      const wake = wakeReader;
      wakeReader = undefined;
      wake?.();
    }
  }

  function schedulePump(): void {
    if (pumpScheduled) return;
    pumpScheduled = true;
    // The iterator hands over the messages of one read through microtasks; after them a
    // batch takes them all, without a timer's latency.
    setImmediate(() => {
      pumpScheduled = false;
      pump();
    });
  }

  async function receive(m: JsMsg): Promise<void> {
    const verdict = classify(m);
    if (verdict.kind === "handle") {
      const { handler, contract, event } = verdict;
      queue.push({ m, at: performance.now(), handler, contract, event, key: keyFor(m, event) });
      schedulePump();
    } else {
      track(settleUnhandled(m, verdict));
    }
    while (queue.length >= maxQueued || tasks.size > maxQueued) {
      await new Promise<void>((r) => {
        wakeReader = r;
      });
    }
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
      max_ack_pending: Math.max(1000, maxQueued + concurrency * batchSize + maxMessages),
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
      draining = false;
      await ensureDurable();
      const c = await js.consumers.get(stream, durable);
      messages = await c.consume({ max_messages: maxMessages });
      running = true;
      metrics.register(durable, this);
      watchDeadLetters(metrics.deadLettered, { service, durable, subjects: bySubject.keys(), nc });
      loop = (async () => {
        try {
          for await (const m of messages!) await receive(m);
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
      draining = true;
      clearTimeout(lingerTimer);
      lingerTimer = undefined;
      pump();
      while (tasks.size > 0) await Promise.allSettled([...tasks]);
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
