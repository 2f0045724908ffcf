import type { LineAllocatedV1, LineDeallocatedV1, OutOfStockV1 } from "@stockflow/contracts";
import { annotateSpan } from "@stockflow/telemetry";
import { applyLineReport, type LineReport, type LineReportOutcome } from "../domain/order.js";
import type { HandlerDeps, Transaction } from "./ports.js";

export type ReportOutcome = LineReportOutcome | "unknown_order";

async function applyReport(
  deps: HandlerDeps,
  tx: Transaction,
  orderId: string,
  report: LineReport,
): Promise<ReportOutcome> {
  annotateSpan({ orderId, sku: report.sku });
  const order = await tx.orders.getForUpdate(orderId);
  // Ordering commits an order before its order_placed event leaves the outbox, so an
  // unknown order is not one that will appear later: there is nothing to update.
  if (!order) return "unknown_order";
  const { order: updated, outcome, line } = applyLineReport(order, report, deps.clock.now());
  if (outcome === "applied" && line) await tx.orders.save(updated, [line]);
  return outcome;
}

export const lineAllocated = (deps: HandlerDeps, tx: Transaction, e: LineAllocatedV1) =>
  applyReport(deps, tx, e.orderId, {
    kind: "allocated",
    sku: e.sku,
    batchref: e.batchref,
    version: e.version,
  });

/** The line waits again: allocation reallocates or backorders it next. */
export const lineDeallocated = (deps: HandlerDeps, tx: Transaction, e: LineDeallocatedV1) =>
  applyReport(deps, tx, e.orderId, { kind: "deallocated", sku: e.sku, version: e.version });

export const outOfStock = (deps: HandlerDeps, tx: Transaction, e: OutOfStockV1) =>
  applyReport(deps, tx, e.orderId, { kind: "out_of_stock", sku: e.sku, version: e.version });
