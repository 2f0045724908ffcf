import { InvalidOrder, OrderAlreadyCancelled } from "./errors.js";

export type LineStatus = "pending" | "allocated" | "backordered" | "cancelled";
export type OrderStatus = "pending" | "allocated" | "partially_allocated" | "backordered" | "cancelled";

export const MAX_LINES = 100;
export const MAX_QTY = 10_000;

export interface OrderLine {
  readonly sku: string;
  readonly qty: number;
  readonly status: LineStatus;
  /** Set only while the line is allocated. */
  readonly batchref: string | null;
  /**
   * When the allocated line's shipment is due (`YYYY-MM-DD`); null for stock on hand, for a
   * line not allocated, and for one whose allocation was reported without it (v1).
   */
  readonly eta: string | null;
  /** The product version of the last allocation event applied to this line; 0 before any. */
  readonly version: number;
}

export interface Order {
  readonly orderId: string;
  readonly customerId: string;
  readonly lines: readonly OrderLine[];
  readonly cancelledAt: Date | null;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

export interface NewOrder {
  orderId: string;
  customerId: string;
  lines: readonly { sku: string; qty: number }[];
  now: Date;
}

/** A new order: every line pending until allocation answers for it. */
export function createOrder({ orderId, customerId, lines, now }: NewOrder): Order {
  if (lines.length < 1 || lines.length > MAX_LINES) {
    throw new InvalidOrder(`an order has 1 to ${MAX_LINES} lines, got ${lines.length}`);
  }
  const skus = new Set<string>();
  for (const { sku, qty } of lines) {
    if (skus.has(sku)) throw new InvalidOrder(`sku ${sku} appears more than once`);
    skus.add(sku);
    if (!Number.isInteger(qty) || qty < 1 || qty > MAX_QTY) {
      throw new InvalidOrder(`qty of ${sku} must be an integer from 1 to ${MAX_QTY}`);
    }
  }
  return {
    orderId,
    customerId,
    lines: lines.map(({ sku, qty }) => ({
      sku,
      qty,
      status: "pending",
      batchref: null,
      eta: null,
      version: 0,
    })),
    cancelledAt: null,
    createdAt: now,
    updatedAt: now,
  };
}

/**
 * The order's status, derived from its lines (never stored, so it cannot drift):
 * - `cancelled`: the order was cancelled;
 * - `pending`: at least one line has no answer from allocation yet (or was deallocated and
 *   waits for its next answer);
 * - `allocated`: every line is allocated;
 * - `backordered`: every line is answered, none is allocated;
 * - `partially_allocated`: every line is answered, some allocated and some backordered.
 */
export function orderStatus(order: Pick<Order, "lines" | "cancelledAt">): OrderStatus {
  if (order.cancelledAt !== null) return "cancelled";
  const statuses = order.lines.map((l) => l.status);
  if (statuses.includes("pending")) return "pending";
  const allocated = statuses.filter((s) => s === "allocated").length;
  if (allocated === statuses.length) return "allocated";
  return allocated === 0 ? "backordered" : "partially_allocated";
}

/**
 * What allocation reported about one line, at a product version. An allocation read from
 * line_allocated v1 has no `eta`; from v2, the batch's eta or null.
 */
export type LineReport =
  | { kind: "allocated"; sku: string; batchref: string; eta?: string | null; version: number }
  | { kind: "deallocated"; sku: string; version: number }
  | { kind: "out_of_stock"; sku: string; version: number };

export type LineReportOutcome = "applied" | "stale" | "order_cancelled" | "unknown_line";

const statusAfter = (report: LineReport): LineStatus =>
  report.kind === "allocated" ? "allocated" : report.kind === "out_of_stock" ? "backordered" : "pending";

/**
 * Whether a report at `version` supersedes what the line shows. A higher product version
 * always wins, so events about one line that arrive out of order keep the newest state.
 * At an equal version only an answer may follow a deallocation: allocation deallocates a
 * line and reallocates (or backorders) it in one product change, so both events carry the
 * same version and the answer is the later of the two.
 */
export function supersedes(line: OrderLine, report: LineReport): boolean {
  if (report.version > line.version) return true;
  if (report.version !== line.version) return false;
  if (line.status === "pending") return report.kind !== "deallocated";
  return completesEta(line, report);
}

/**
 * Whether an allocation at the line's own version tells what the line does not know yet:
 * the eta, which v1 (read before a switch to v2) did not carry. It is the same change, so
 * it adds the eta and nothing else; the same report again, or v1 after v2, changes nothing.
 */
const completesEta = (line: OrderLine, report: LineReport): boolean =>
  report.kind === "allocated" &&
  line.status === "allocated" &&
  line.batchref === report.batchref &&
  report.eta !== undefined &&
  report.eta !== line.eta;

/**
 * Applies allocation's report about one line. A cancelled order stays cancelled whatever
 * arrives later; a stale report changes nothing.
 */
export function applyLineReport(
  order: Order,
  report: LineReport,
  now: Date,
): { order: Order; outcome: LineReportOutcome; line?: OrderLine } {
  if (order.cancelledAt !== null) return { order, outcome: "order_cancelled" };
  const index = order.lines.findIndex((l) => l.sku === report.sku);
  const current = order.lines[index];
  if (!current) return { order, outcome: "unknown_line" };
  if (!supersedes(current, report)) return { order, outcome: "stale" };
  const line: OrderLine = {
    ...current,
    status: statusAfter(report),
    batchref: report.kind === "allocated" ? report.batchref : null,
    eta: report.kind === "allocated" ? (report.eta ?? null) : null,
    version: report.version,
  };
  const lines = order.lines.map((l, i) => (i === index ? line : l));
  return { order: { ...order, lines, updatedAt: now }, outcome: "applied", line };
}

/** Cancels the order and every line; a second cancellation is refused. */
export function cancelOrder(order: Order, now: Date): Order {
  if (order.cancelledAt !== null) throw new OrderAlreadyCancelled(order.orderId);
  return {
    ...order,
    lines: order.lines.map((l) => ({ ...l, status: "cancelled", batchref: null, eta: null })),
    cancelledAt: now,
    updatedAt: now,
  };
}
