import { type ConsumerMessages, type JsMsg, jetstream } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import type { ServiceName, StreamName } from "@stockflow/contracts";
import { watchDeadLetters } from "../dead-letter-metrics.js";
import { pipelinedTransaction } from "../driver.js";
import { readsDescription, type Takeover } from "../durable-versions.js";
import { consumerMetrics } from "../metrics.js";
import { outageLog } from "../outage-log.js";
import { PULL_EXPIRES_MS, type PullWatch, watchPulling } from "../pull-watch.js";
import type { Database, Logger } from "../types.js";
import type { RunTransaction } from "./attempt.js";
import { classifier } from "./classify.js";
import { durablePending, ensureDurable } from "./durable.js";
import { DEFAULT_RETRY_DELAYS_MS, type FailurePolicy } from "./failure-policy.js";
import type { Handler } from "./handlers.js";
import { KeyScheduler } from "./key-scheduler.js";
import { runBatch } from "./run-batch.js";
import { type Queued, settler } from "./settle.js";

export interface ConsumerOptions {
  service: ServiceName;
  durable: string;
  stream: StreamName;
  nc: NatsConnection;
  /** The service's database: handlers run in its transactions unless `transaction` is given. */
  db: Database;
  /** Runs a batch's transaction: the service's unit of work (messaging.ts passes it). */
  transaction?: RunTransaction;
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
  /** A new durable replacing an older one of the service that read older versions. */
  takesOver?: Takeover;
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

/**
 * A durable consumer's lifecycle: it receives messages, classifies them (classify.ts:
 * unhandled ones are acked or dead-lettered), queues them by key (key-scheduler.ts), and
 * runs batches (run-batch.ts) in transactions with an inbox (attempt.ts), settling each
 * message (settle.ts) by the failure policy (failure-policy.ts).
 */
export function createConsumer(options: ConsumerOptions): Consumer {
  const { service, durable, stream, nc, db, logger } = options;
  const concurrency = Math.max(1, options.concurrency ?? 1);
  const batchSize = Math.max(1, Math.min(1000, options.batchSize ?? 64));
  const lingerMs = Math.max(0, options.lingerMs ?? 0);
  const policy: FailurePolicy = {
    maxAttempts: options.maxAttempts ?? 5,
    retryDelaysMs: options.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS,
    isTransient: options.isTransient ?? (() => false),
  };
  const classify = classifier(options.handlers);
  const metrics = consumerMetrics();
  const js = jetstream(nc);
  const settle = settler({ service, durable, js, metrics, logger, policy });
  const transaction: RunTransaction = options.transaction ?? ((work) => pipelinedTransaction(db, work));
  const keyOf = (subject: string, event: unknown): string => {
    try {
      return options.keyOf?.(subject, event) ?? "";
    } catch {
      return "";
    }
  };
  // Received messages waiting for a batch: enough for a full batch besides the running ones.
  const maxQueued = (concurrency + 1) * batchSize;
  const maxMessages = Math.max(64, concurrency * 4, batchSize * 2);
  const scheduler = new KeyScheduler<Queued>({ batchSize, lingerMs });

  let messages: ConsumerMessages | undefined;
  let loop: Promise<void> | undefined;
  let running = false;
  let pulls: PullWatch | undefined;
  /** Running batches and dead letters / skips in progress. */
  const tasks = new Set<Promise<void>>();
  let batches = 0;
  let pumpScheduled = false;
  let lingerTimer: NodeJS.Timeout | undefined;
  /** Stopping: what is queued runs now, without lingering. */
  let draining = false;
  let wakeReader: (() => void) | undefined;
  const resumeReader = () => {
    const wake = wakeReader;
    wakeReader = undefined;
    wake?.();
  };

  function track(task: Promise<void>, done?: () => void): void {
    const tracked: Promise<void> = task
      .catch((err) => logger.error({ err }, "unexpected consumer error"))
      .finally(() => {
        tasks.delete(tracked);
        done?.();
        resumeReader();
      });
    tasks.add(tracked);
  }

  /** A batch may start: a full one, or one whose oldest message waited lingerMs. */
  function due(): boolean {
    const wait = scheduler.waitMs(performance.now(), draining) ?? 0;
    if (wait <= 0) return true;
    lingerTimer ??= setTimeout(() => {
      lingerTimer = undefined;
      pump();
    }, wait);
    return false;
  }

  function pump(): void {
    while (batches < concurrency && scheduler.queued > 0 && due()) {
      const batch = scheduler.take();
      if (batch.length === 0) break;
      batches++;
      track(runBatch(batch, { durable, transaction, policy, settle }), () => {
        batches--;
        scheduler.release(batch);
        pump();
      });
    }
    if (scheduler.queued < maxQueued) resumeReader();
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
    const verdict = classify(m.subject, m.data);
    if (verdict.kind === "handle") {
      const { handler, contract, event } = verdict;
      scheduler.push({ m, at: performance.now(), handler, contract, event, key: keyOf(m.subject, event) });
      schedulePump();
    } else {
      track(settle.unhandled(m, verdict));
    }
    while (scheduler.queued >= maxQueued || tasks.size > maxQueued) {
      await new Promise<void>((r) => {
        wakeReader = r;
      });
    }
  }

  return {
    async start() {
      draining = false;
      await ensureDurable(nc, {
        stream,
        durable,
        ackWaitMs: options.ackWaitMs ?? 30_000,
        maxAckPending: Math.max(1000, maxQueued + concurrency * batchSize + maxMessages),
        description: readsDescription(options.handlers.flatMap((h) => h.contracts)),
        ...(options.takesOver ? { takesOver: options.takesOver } : {}),
      });
      const c = await js.consumers.get(stream, durable);
      messages = await c.consume({ max_messages: maxMessages, expires: PULL_EXPIRES_MS });
      pulls = watchPulling(
        messages,
        outageLog({ logger, dependency: "NATS", component: `consumer ${durable}` }),
      );
      running = true;
      metrics.register(durable, this);
      const subjects = options.handlers.flatMap((h) => h.contracts.map((c) => c.subject));
      watchDeadLetters(metrics.deadLettered, { service, durable, subjects, nc });
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
    isRunning: () => running && pulls?.isPulling() !== false,
    pending: () => durablePending(nc, stream, durable),
  };
}
