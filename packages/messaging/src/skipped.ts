import { context, type Span, trace } from "@opentelemetry/api";
import { annotateSpan } from "@stockflow/telemetry";

const utf8 = new TextDecoder();

/**
 * Names the order, SKU and batch of a message a consumer skips (a known contract it does not
 * apply: another event of the stream, or the other major version during a deprecation
 * window) on the message's span, so an operator who finds a flow by its order id also sees
 * where a version was acknowledged without being applied.
 */
export function annotateSkipped(span: Span, data: Uint8Array): void {
  let event: { orderId?: unknown; sku?: unknown; batchref?: unknown; reference?: unknown };
  try {
    event = JSON.parse(utf8.decode(data));
  } catch {
    return;
  }
  if (typeof event !== "object" || event === null) return;
  const text = (v: unknown) => (typeof v === "string" ? v : undefined);
  context.with(trace.setSpan(context.active(), span), () =>
    annotateSpan({
      orderId: text(event.orderId),
      sku: text(event.sku),
      batchRef: text(event.batchref) ?? text(event.reference),
    }),
  );
}
