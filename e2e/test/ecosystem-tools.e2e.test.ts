import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StreamName } from "../support/bus.js";
import { cloudEventOf, headerAttributes } from "../support/cloudevents.js";
import { dispatchesReach, orderStatusIs, productHasBatches } from "../support/eventually.js";
import { type Stack, startStack } from "../support/stack.js";

// The running system read by the tools its users' platforms run, not by our own code:
// the CloudEvents SDK, OpenAPI validators and linters, the Prometheus text-format rules,
// the OpenTelemetry semantic conventions. One stack for the file; a small flow first so
// that every stream, metric and span has something in it.

const SKU = "ECO-BOOKCASE";

let stack: Stack;
let orderId: string;

beforeAll(async () => {
  stack = await startStack({ label: "ecosystem", tracing: true });
  const batch = await stack.api.registerBatch({ reference: "eco-stock", sku: SKU, qty: 10, eta: null });
  expect(batch.status).toBe(201);
  await productHasBatches(stack, SKU, ["eco-stock"]);
  const placed = await stack.api.placeOrder({ customerId: "eco-customer", lines: [{ sku: SKU, qty: 2 }] });
  expect(placed.status).toBe(202);
  orderId = placed.body.orderId;
  await orderStatusIs(stack, orderId, "allocated");
  await dispatchesReach(stack, orderId, "has its dispatch", (d) => d.length === 1);
});

afterAll(async () => {
  await stack?.dispose();
});

const eventStreams: StreamName[] = ["ORDERING", "ALLOCATION", "WAREHOUSE"];

describe("the events on the streams, read by the cloudevents SDK (NATS binding, binary mode)", () => {
  it("are valid CloudEvents 1.0 whose ce-* headers carry every attribute, datacontenttype included", async () => {
    let read = 0;
    for (const stream of eventStreams) {
      const events = await stack.readStream(stream);
      expect(events.length, `${stream} holds the flow's events`).toBeGreaterThan(0);
      for (const event of events) {
        const ce = cloudEventOf(event);
        expect(ce.specversion).toBe("1.0");
        expect(ce.type).toBe(event.subject);
        expect(ce.source).toBe(`/${event.subject.split(".")[0]}`);
        expect(ce.data).toEqual(event.payload);
        expect(headerAttributes(event), event.subject).toMatchObject({
          datacontenttype: "application/json",
          id: event.headers["nats-msg-id"],
        });
        expect(event.headers["content-type"]).toBe("application/json");
        read++;
      }
    }
    expect(read, "batch_registered, order_placed, line_allocated").toBeGreaterThanOrEqual(3);
  });
});
