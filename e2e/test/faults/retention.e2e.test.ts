import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openServiceDatabases, type ServiceDatabases } from "../../support/databases.js";
import { eventually, productHasBatches } from "../../support/eventually.js";
import { assertInvariants } from "../../support/invariants.js";
import { republish } from "../../support/load.js";
import { type ServiceName, type Stack, serviceNames, startStack } from "../../support/stack.js";
import { steadyOrders } from "../../support/steady-orders.js";

// Reliability scenario 13: with retention in seconds, a run of a little under a minute
// leaves the outbox, inbox and idempotency tables, and allocation's order records (none a
// tombstone here: nothing is cancelled), bounded (rows go while the load runs, not only
// after), and a redelivery inside the inbox's retention still changes nothing.

const SKUS = ["RT-BED", "RT-RUG"];
// A lost ack comes back after 3 s; the inbox remembers ids for 8 s (at least twice that).
const RETENTION = {
  CONSUMER_ACK_WAIT_MS: "3000",
  OUTBOX_RETENTION: "3s",
  INBOX_RETENTION: "8s",
  IDEMPOTENCY_RETENTION: "3s",
};
const RUN_MS = 40_000;

const TABLES: Record<ServiceName, string[]> = {
  ordering: ["outbox", "inbox", "idempotency_keys"],
  allocation: ["outbox", "inbox", "order_records"],
  warehouse: ["inbox"],
};

let stack: Stack;
let dbs: ServiceDatabases;

beforeAll(async () => {
  stack = await startStack({
    label: "f_retention",
    env: { ordering: RETENTION, allocation: RETENTION, warehouse: RETENTION },
  });
  dbs = openServiceDatabases(stack);
});

afterAll(async () => {
  await dbs?.close();
  await stack?.dispose();
});

async function rowCounts(): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const name of serviceNames) {
    for (const table of TABLES[name]) {
      const [row] = await dbs[name].unsafe(`select count(*)::int as n from ${table}`);
      counts[`${name}.${table}`] = Number(row?.n);
    }
  }
  return counts;
}

describe("retention", () => {
  it("keeps the outbox, inbox, idempotency and order record tables bounded while orders flow", async () => {
    for (const sku of SKUS) {
      expect(
        (await stack.api.registerBatch({ reference: `${sku}-1`, sku, qty: 100_000, eta: null })).status,
      ).toBe(201);
      await productHasBatches(stack, sku, [`${sku}-1`]);
    }
    const load = steadyOrders(
      stack,
      (i) => ({ customerId: `rt-customer-${i % 25}`, lines: [{ sku: SKUS[i % 2]!, qty: 1 }] }),
      { clients: 4, headersOf: (i) => ({ "idempotency-key": `rt-key-${i}` }) },
    );
    const peaks: Record<string, number> = {};
    const started = Date.now();
    try {
      while (Date.now() - started < RUN_MS) {
        const counts = await rowCounts();
        // The second half: every table has had time to fill up to its retention.
        if (Date.now() - started > RUN_MS / 2)
          for (const [k, n] of Object.entries(counts)) peaks[k] = Math.max(peaks[k] ?? 0, n);
        await new Promise((r) => setTimeout(r, 1000));
      }
    } finally {
      await load.stop();
    }
    const placed = load.accepted.length;
    expect(load.refused).toEqual([]);
    await assertInvariants(stack, { acceptedOrderIds: load.accepted });
    console.log(
      `scenario 13: ${placed} orders in ${RUN_MS} ms; peak rows in the second half: ${JSON.stringify(peaks)}`,
    );

    // Each table takes about one row per order; it never held half the run's rows at once.
    for (const [table, peak] of Object.entries(peaks)) expect(peak, table).toBeLessThan(placed / 2);
    // And once the load stops, everything expires.
    await eventually(
      stack,
      "every retained table emptied",
      async () => Object.values(await rowCounts()).every((n) => n === 0),
      60_000,
    );
    const metrics = await (await fetch(`${stack.urls.ordering}/metrics`)).text();
    for (const table of TABLES.ordering)
      expect(metrics).toMatch(
        new RegExp(`stockflow_retention_deleted_rows_total\\{service="ordering",table="${table}"\\} [1-9]`),
      );
  });

  it("ignores a redelivery that comes inside the inbox's retention", async () => {
    const reference = `${SKUS[0]}-1`;
    const before = (await stack.api.getProduct(SKUS[0]!)).body.batches.find(
      (b) => b.reference === reference,
    )!;
    expect((await stack.api.damage(reference, 7, "scratched")).status).toBe(200);
    await eventually(stack, "allocation to apply the damage", async () => {
      const p = await stack.api.getProduct(SKUS[0]!);
      return p.body.batches.find((b) => b.reference === reference)?.qty === before.qty - 7;
    });
    const events = await stack.readStream("WAREHOUSE");
    const damage = events.filter((e) => e.subject === "warehouse.batch_quantity_changed.v1").at(-1)!;
    // Still remembered: the copy comes within the retention.
    const [known] = await dbs.allocation`
      select count(*)::int as n from inbox where message_id = ${damage.headers["ce-id"]!}`;
    expect(known?.n).toBe(1);
    await republish(stack.natsConnection, damage);
    await assertInvariants(stack, { acceptedOrderIds: [] });
    const after = (await stack.api.getProduct(SKUS[0]!)).body.batches.find((b) => b.reference === reference)!;
    expect(after.qty).toBe(before.qty - 7);
  });
});
