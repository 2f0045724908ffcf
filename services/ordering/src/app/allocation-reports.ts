import type { LineAllocatedV1, LineAllocatedV2, LineDeallocatedV1, OutOfStockV1 } from "@stockflow/contracts";
import { annotateSpan } from "@stockflow/telemetry";
import {
  applyLineReport,
  type LineReport,
  type LineReportOutcome,
  type Order,
  type OrderLine,
} from "../domain/order.js";
import type { HandlerDeps, Transaction } from "./ports.js";

export type ReportOutcome = LineReportOutcome | "unknown_order";

/** What allocation said about one line of one order. */
export interface OrderReport {
  orderId: string;
  report: LineReport;
}

/** From v2 with the batch's eta; from v1 (before the switch to v2) without it. */
export const allocatedReport = (e: LineAllocatedV1 | LineAllocatedV2): OrderReport => ({
  orderId: e.orderId,
  report: {
    kind: "allocated",
    sku: e.sku,
    batchref: e.batchref,
    ...("eta" in e ? { eta: e.eta } : {}),
    version: e.version,
  },
});

/** The line waits again: allocation reallocates or backorders it next. */
export const deallocatedReport = (e: LineDeallocatedV1): OrderReport => ({
  orderId: e.orderId,
  report: { kind: "deallocated", sku: e.sku, version: e.version },
});

export const outOfStockReport = (e: OutOfStockV1): OrderReport => ({
  orderId: e.orderId,
  report: { kind: "out_of_stock", sku: e.sku, version: e.version },
});

/**
 * Applies allocation's reports in the order given, with one read (locking every order they
 * name) and one write for all of them: an order named several times takes its reports one
 * after another, as it would one transaction each. Returns each report's outcome.
 */
export async function applyReports(
  deps: HandlerDeps,
  tx: Transaction,
  reports: readonly OrderReport[],
): Promise<ReportOutcome[]> {
  const orders = await tx.orders.getManyForUpdate(reports.map((r) => r.orderId));
  const changed = new Map<string, Map<string, OrderLine>>();
  const outcomes = reports.map(({ orderId, report }): ReportOutcome => {
    const order = orders.get(orderId);
    // Ordering commits an order before its order_placed event leaves the outbox, so an
    // unknown order is not one that will appear later: there is nothing to update.
    if (!order) return "unknown_order";
    const { order: updated, outcome, line } = applyLineReport(order, report, deps.clock.now());
    if (outcome === "applied" && line) {
      orders.set(orderId, updated);
      changed.set(orderId, (changed.get(orderId) ?? new Map()).set(line.sku, line));
    }
    return outcome;
  });
  if (changed.size > 0) {
    await tx.orders.saveMany(
      [...changed].map(([orderId, lines]) => ({
        order: orders.get(orderId) as Order,
        changed: [...lines.values()],
      })),
    );
  }
  return outcomes;
}

async function applyOne(deps: HandlerDeps, tx: Transaction, r: OrderReport): Promise<ReportOutcome> {
  annotateSpan({ orderId: r.orderId, sku: r.report.sku });
  const [outcome] = await applyReports(deps, tx, [r]);
  return outcome!;
}

export const lineAllocated = (deps: HandlerDeps, tx: Transaction, e: LineAllocatedV1 | LineAllocatedV2) =>
  applyOne(deps, tx, allocatedReport(e));

export const lineDeallocated = (deps: HandlerDeps, tx: Transaction, e: LineDeallocatedV1) =>
  applyOne(deps, tx, deallocatedReport(e));

export const outOfStock = (deps: HandlerDeps, tx: Transaction, e: OutOfStockV1) =>
  applyOne(deps, tx, outOfStockReport(e));
