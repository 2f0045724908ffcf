import {
  type LineAllocatedV1,
  type LineAllocatedV2,
  type LineDeallocatedV1,
  lineAllocatedV1,
  lineAllocatedV2,
  lineDeallocatedV1,
  type OutOfStockV1,
  outOfStockV1,
} from "@stockflow/contracts";
import {
  type BatchItem,
  type Consumer,
  handleBatch,
  type Logger,
  type MessageMeta,
  type Messaging,
  type Redelivery,
} from "@stockflow/messaging";
import { annotateSpan } from "@stockflow/telemetry";
import type { OrderingUnitOfWork } from "../adapters/db/unit-of-work.js";
import {
  allocatedReport,
  applyReports,
  deallocatedReport,
  type OrderReport,
  outOfStockReport,
  type ReportOutcome,
} from "../app/allocation-reports.js";
import type { HandlerDeps } from "../app/ports.js";

export interface AllocationConsumerDeps {
  messaging: Pick<Messaging, "consumer">;
  logger: Logger;
  uow: OrderingUnitOfWork;
  handlers: HandlerDeps;
  concurrency?: number;
  /** ack wait, retry delays, attempts before the DLQ (CONSUMER_* settings). */
  redelivery?: Redelivery;
  /** The major version of line_allocated read (LINE_ALLOCATED_VERSION): 2 unless told. */
  lineAllocatedVersion?: 1 | 2;
}

// serialization_failure, deadlock_detected: another transaction won a race; running the
// message again at once succeeds. drizzle wraps driver errors, so the code may sit on `cause`.
const RETRYABLE = new Set(["40001", "40P01"]);
const isTransient = (err: unknown): boolean => {
  const e = err as { code?: string; cause?: { code?: string } } | undefined;
  return RETRYABLE.has(e?.code ?? "") || RETRYABLE.has(e?.cause?.code ?? "");
};

type Answer =
  | typeof lineAllocatedV1
  | typeof lineAllocatedV2
  | typeof lineDeallocatedV1
  | typeof outOfStockV1;

const reportOf = ({ contract, event }: BatchItem<Answer>): OrderReport =>
  contract === lineAllocatedV1 || contract === lineAllocatedV2
    ? allocatedReport(event as LineAllocatedV1 | LineAllocatedV2)
    : contract === lineDeallocatedV1
      ? deallocatedReport(event as LineDeallocatedV1)
      : outOfStockReport(event as OutOfStockV1);

/** The durable of the v1 reader: kept under its old name, so that its position is kept. */
export const V1_DURABLE = "ordering-allocation";
export const V2_DURABLE = "ordering-allocation-v2";

/**
 * What each reader version reads and with which durable. One durable per version, each with
 * its own position in the stream, since replicas of both builds run side by side during a
 * rolling upgrade. The v2 durable, when first created, takes over from the v1 durable: it
 * starts no later than v1's first unacknowledged message nor the first v2 message (v1 skipped
 * every v2, among them delays announced in v2 only), so nothing is missed; what it reads
 * again that v1 applied carries the same product version and changes nothing
 * (`supersedes`), except the eta v1 did not carry.
 */
const readers = {
  1: { durable: V1_DURABLE, lineAllocated: lineAllocatedV1, takesOver: undefined },
  2: {
    durable: V2_DURABLE,
    lineAllocated: lineAllocatedV2,
    takesOver: { durable: V1_DURABLE, contracts: [lineAllocatedV2] },
  },
} as const;

/**
 * Keeps order and line statuses up to date from allocation's answers. Events of one order
 * run one after another (key: orderId); batches of different orders (up to 64 events, one
 * transaction each) run two at a time: they touch disjoint rows, and 2 fill 2 cores. A
 * batch's answers are applied together: one read of their orders, one write.
 */
export function createAllocationConsumer({
  messaging,
  logger,
  uow,
  handlers,
  concurrency = 2,
  redelivery,
  lineAllocatedVersion = 2,
}: AllocationConsumerDeps): Consumer {
  const reader = readers[lineAllocatedVersion];
  const answers: Answer[] = [reader.lineAllocated, lineDeallocatedV1, outOfStockV1];
  // Only what an operator should look at is logged: an event about an order or line
  // ordering never had. Stale and post-cancellation events are expected and silent.
  const note = (outcome: ReportOutcome, event: { orderId: string; sku: string }, meta: MessageMeta) => {
    if (outcome === "unknown_order" || outcome === "unknown_line") {
      logger.warn(
        { outcome, orderId: event.orderId, sku: event.sku, subject: meta.subject },
        "ignored allocation event",
      );
    }
  };
  return messaging.consumer({
    ...redelivery,
    durable: reader.durable,
    ...(reader.takesOver ? { takesOver: reader.takesOver } : {}),
    stream: "ALLOCATION",
    concurrency,
    batchSize: 64,
    isTransient,
    keyOf: (_subject, event) => (event as { orderId: string }).orderId,
    handlers: [
      handleBatch(answers, async (tx, items) => {
        for (const { event, within } of items) {
          within(() => annotateSpan({ orderId: event.orderId, sku: event.sku }));
        }
        const outcomes = await applyReports(handlers, uow.bind(tx), items.map(reportOf));
        for (const [i, { event, meta, within }] of items.entries()) {
          // Under the item's span, so the warning's trace_id is that message's.
          within(() => note(outcomes[i]!, event, meta));
        }
      }),
    ],
  });
}
