import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openServiceDatabases } from "../../support/databases.js";
import { eventually, productHasBatches } from "../../support/eventually.js";
import { assertInvariants } from "../../support/invariants.js";
import { placeOrders, republish } from "../../support/load.js";
import { type ServiceName, type Stack, startStack } from "../../support/stack.js";

// Reliability scenario 4: the same event (same ce-id) delivered again and again is
// processed once by every consumer. The test republishes real events with their own
// headers under fresh Nats-Msg-Ids, so the broker stores every copy and only the
// consumers' inboxes stand between a copy and a second effect.

const SKUS = ["DU-CHAIR", "DU-DESK"];
const ORDERS = 80;
const COPIES = 3;

const TABLES: Record<ServiceName, string[]> = {
  ordering: ["orders", "order_lines", "customers"],
  allocation: ["products", "batches", "allocations", "backorders"],
  warehouse: ["batches", "dispatch_instructions"],
};

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ label: "f_duplicates" });
});

afterAll(async () => {
  await stack?.dispose();
});

/** Every row of the services' own tables (not inbox or outbox), to compare before and after. */
async function snapshot(): Promise<Record<string, unknown[]>> {
  const dbs = openServiceDatabases(stack);
  try {
    const out: Record<string, unknown[]> = {};
    for (const [service, tables] of Object.entries(TABLES) as [ServiceName, string[]][]) {
      for (const table of tables) {
        const rows = await dbs[service].unsafe(`select * from ${table}`);
        out[`${service}.${table}`] = rows.map((r) => JSON.stringify(r)).sort();
      }
    }
    return out;
  } finally {
    await dbs.close();
  }
}

/** What a service's /metrics says about messages its consumers found already processed. */
async function duplicatesSeen(service: ServiceName, consumer: string): Promise<number> {
  const text = await (await fetch(`${stack.urls[service]}/metrics`)).text();
  let sum = 0;
  for (const line of text.split("\n")) {
    if (
      line.startsWith("stockflow_messages_processed_total{") &&
      line.includes(`consumer="${consumer}"`) &&
      line.includes('outcome="duplicate"')
    ) {
      sum += Number(line.slice(line.lastIndexOf(" ") + 1));
    }
  }
  return sum;
}

/** Events the producers published themselves (Nats-Msg-Id = ce-id), copies left out. */
const producerEvents = async (stream: "ORDERING" | "ALLOCATION" | "WAREHOUSE") =>
  (await stack.readStream(stream)).filter((e) => e.headers["nats-msg-id"] === e.headers["ce-id"]);

describe("duplicates", () => {
  it("processes an event delivered several times with one ce-id once, in every consumer", async () => {
    await stack.api.registerBatch({ reference: "du-chairs", sku: SKUS[0]!, qty: 100, eta: null });
    await stack.api.registerBatch({ reference: "du-desks", sku: SKUS[1]!, qty: 40, eta: "2031-02-01" });
    await productHasBatches(stack, SKUS[0]!, ["du-chairs"]);
    await productHasBatches(stack, SKUS[1]!, ["du-desks"]);

    // Copies of order_placed wait in the stream beside the original before allocation reads any.
    expect(await stack.stop("allocation")).toBe(0);
    const load = await placeOrders(stack, ORDERS, (i) => ({
      customerId: `du-customer-${i % 20}`,
      lines: [{ sku: SKUS[i % 2]!, qty: 1 + (i % 3) }],
    }));
    expect(load.refused).toEqual([]);
    const placed = await eventually(stack, "every order_placed on ORDERING", async () => {
      const events = (await producerEvents("ORDERING")).filter(
        (e) => e.subject === "ordering.order_placed.v1",
      );
      return events.length === ORDERS && events;
    });
    for (const event of placed) for (let n = 0; n < COPIES; n++) await republish(stack.natsConnection, event);
    await stack.start("allocation");
    await assertInvariants(stack, { acceptedOrderIds: load.accepted });
    expect(await duplicatesSeen("allocation", "allocation-ordering")).toBe(ORDERS * COPIES);

    // Now allocation's answers and the warehouse's batches, to the other three consumers.
    // One answer per order; an allocation is published as line_allocated v1 and v2 (the
    // deprecation window), an out_of_stock once.
    const count = (events: { subject: string }[], subject: string) =>
      events.filter((e) => e.subject === subject).length;
    const allocationEvents = await eventually(stack, "every answer on ALLOCATION", async () => {
      const events = await producerEvents("ALLOCATION");
      const v1 = count(events, "allocation.line_allocated.v1");
      const v2 = count(events, "allocation.line_allocated.v2");
      return v1 === v2 && events.length - v1 === ORDERS && events;
    });
    const before = await snapshot();
    const warehouseEvents = await producerEvents("WAREHOUSE");
    for (const event of [...allocationEvents, ...warehouseEvents]) {
      for (let n = 0; n < COPIES; n++) await republish(stack.natsConnection, event);
    }
    await assertInvariants(stack, { acceptedOrderIds: load.accepted });

    expect(await snapshot()).toEqual(before);
    expect(await producerEvents("ALLOCATION")).toHaveLength(allocationEvents.length);
    // A consumer skips the version it does not read without its inbox: copies of it are skips.
    const readBy = (subject: string) => count(allocationEvents, subject);
    expect(await duplicatesSeen("ordering", "ordering-allocation-v2")).toBe(
      (allocationEvents.length - readBy("allocation.line_allocated.v1")) * COPIES,
    );
    expect(await duplicatesSeen("warehouse", "warehouse-allocation")).toBe(
      (readBy("allocation.line_allocated.v1") + readBy("allocation.line_deallocated.v1")) * COPIES,
    );
    expect(await duplicatesSeen("allocation", "allocation-warehouse")).toBe(warehouseEvents.length * COPIES);
  });
});
