import { type Tracer, trace } from "@opentelemetry/api";

export const ATTR_ORDER_ID = "stockflow.order_id";
export const ATTR_SKU = "stockflow.sku";
export const ATTR_BATCH_REF = "stockflow.batch_ref";

/** The tracer every stockflow span comes from. */
export function tracer(): Tracer {
  return trace.getTracer("stockflow");
}

export interface DomainKeys {
  orderId?: string;
  sku?: string;
  batchRef?: string;
}

/**
 * Puts the order id, SKU or batch reference on the active span, so an operator can
 * find a flow in Jaeger by searching for it. Does nothing outside a span.
 */
export function annotateSpan({ orderId, sku, batchRef }: DomainKeys): void {
  const span = trace.getActiveSpan();
  if (!span) return;
  if (orderId !== undefined) span.setAttribute(ATTR_ORDER_ID, orderId);
  if (sku !== undefined) span.setAttribute(ATTR_SKU, sku);
  if (batchRef !== undefined) span.setAttribute(ATTR_BATCH_REF, batchRef);
}
