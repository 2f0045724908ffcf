import { batchQuantityChangedV1, batchRegisteredV1, orderPlacedV1 } from "@stockflow/contracts";
import {
  collectSpans,
  createTestDatabase,
  type PrivateNatsServer,
  type SpanCollector,
  startNatsServer,
  type TestDatabase,
  waitFor,
} from "@stockflow/testkit";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type AllocationService, bootstrap, loadConfig } from "../src/index.js";
import { neighbours } from "./jetstream.js";
import { quietLogger } from "./support.js";

let spans: SpanCollector;
let nats: PrivateNatsServer;
let testDb: TestDatabase;
let service: AllocationService;
let others: Awaited<ReturnType<typeof neighbours>>;

beforeAll(async () => {
  spans = collectSpans();
  nats = await startNatsServer();
  testDb = await createTestDatabase("allocation_tracing");
  const config = loadConfig({ DATABASE_URL: testDb.url, NATS_URL: nats.url, LOG_LEVEL: "silent" });
  service = await bootstrap(config, { logger: quietLogger() });
  await service.start();
  others = await neighbours(nats.url);
  await others.start();
});

afterAll(async () => {
  await others?.dispose();
  await service?.stop();
  await service?.app.close();
  await testDb?.drop();
  await nats?.dispose();
  await spans?.shutdown();
});

it("traces a reallocation as one trace: the consumer span of the quantity change parents both publish spans", async () => {
  await others.publish(
    batchRegisteredV1,
    { reference: "early", sku: "SHELF", qty: 10, eta: null },
    { reference: "late", sku: "SHELF", qty: 10, eta: "2030-01-02" },
  );
  // Batches and orders travel on different streams: place the order once both batches are known.
  await waitFor(
    async () => {
      const res = await service.app.inject({ method: "GET", url: "/products/SHELF" });
      return res.statusCode === 200 && res.json().batches.length === 2;
    },
    { message: "both SHELF batches registered" },
  );
  await others.publish(orderPlacedV1, {
    orderId: "order-t",
    customerId: "c",
    lines: [{ sku: "SHELF", qty: 8 }],
    placedAt: new Date().toISOString(),
  });
  await waitFor(() => others.about("order-t").length === 1, { message: "order-t allocated" });
  await others.publish(batchQuantityChangedV1, {
    reference: "early",
    sku: "SHELF",
    qty: 5,
    reason: "damaged",
  });
  await waitFor(() => others.about("order-t").length === 3, { message: "order-t reallocated" });

  const [consumer] = await waitFor(() => {
    const found = spans.byName("process warehouse.batch_quantity_changed.v1");
    return found.length === 1 && found;
  });
  const sends = await waitFor(() => {
    const found = [
      ...spans.byName("send allocation.line_deallocated.v1"),
      ...spans.byName("send allocation.line_allocated.v1"),
    ].filter((s) => s.parentSpanContext?.spanId === consumer!.spanContext().spanId);
    return found.length === 2 && found;
  });
  for (const send of sends) expect(send.spanContext().traceId).toBe(consumer!.spanContext().traceId);
  expect(consumer!.attributes).toMatchObject({ "stockflow.sku": "SHELF", "stockflow.batch_ref": "early" });
});
