import { trace } from "@opentelemetry/api";
import { collectSpans } from "@stockflow/testkit";
import { afterAll, describe, expect, it } from "vitest";
import { annotateSkipped } from "../src/skipped.js";

const spans = collectSpans();
const bytes = (text: string) => new TextEncoder().encode(text);

afterAll(async () => {
  await spans.shutdown();
});

function skippedSpan(name: string, body: string) {
  const span = trace.getTracer("test").startSpan(name);
  annotateSkipped(span, bytes(body));
  span.end();
  return spans.byName(name)[0]!;
}

describe("a skipped message's span", () => {
  it("names the order, SKU and batch its body names", () => {
    const span = skippedSpan(
      "skip line_allocated v1",
      JSON.stringify({ orderId: "o-1", sku: "LAMP", qty: 1, batchref: "b-1", version: 3 }),
    );
    expect(span.attributes).toMatchObject({
      "stockflow.order_id": "o-1",
      "stockflow.sku": "LAMP",
      "stockflow.batch_ref": "b-1",
    });
  });

  it("is left alone when the body is not a JSON object", () => {
    const span = skippedSpan("skip garbage", "{not json");
    expect(span.attributes["stockflow.order_id"]).toBeUndefined();
  });
});
