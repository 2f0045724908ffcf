import { jetstreamManager } from "@nats-io/jetstream";
import { type ServiceProcess, startServiceProcess } from "@stockflow/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiClient } from "../../support/api.js";
import { eventually, productHasBatches } from "../../support/eventually.js";
import { assertInvariants } from "../../support/invariants.js";
import { inParallel, placeOrders } from "../../support/load.js";
import { entryOf, repoRoot, type Stack, startStack } from "../../support/stack.js";

// Reliability scenario 12: ordering moves from allocation.line_allocated.v1 to .v2 while
// allocations flow, as a rolling upgrade does it: the old build (LINE_ALLOCATED_VERSION=1,
// durable ordering-allocation) runs alone, then beside a replica of the new build (v2,
// durable ordering-allocation-v2), then the old one stops. Shipments are delayed (announced
// in v2 only) and damaged (lines reallocated) in every phase. At rest every order line
// agrees with allocation, its eta included, and nothing took effect twice.

const SKUS = ["CS-SOFA", "CS-LAMP", "CS-DESK", "CS-RUG"];
const PER_PHASE = 60;
const V1_DURABLE = "ordering-allocation";

let stack: Stack;
let orderingV2: ServiceProcess | undefined;

beforeAll(async () => {
  stack = await startStack({ label: "f_switch", env: { ordering: { LINE_ALLOCATED_VERSION: "1" } } });
});

afterAll(async () => {
  await orderingV2?.kill();
  await stack?.dispose();
});

const orderOf = (phase: number) => (i: number) => ({
  customerId: `cs-customer-${phase}-${i % 25}`,
  lines: [
    { sku: SKUS[i % SKUS.length]!, qty: 1 + (i % 3) },
    ...(i % 4 === 0 ? [{ sku: SKUS[(i + 1) % SKUS.length]!, qty: 1 }] : []),
  ],
});

/** Staff news while orders flow: a shipment delayed (v2 only) and one damaged (reallocation). */
async function staffNews(phase: number) {
  const delayed = SKUS[phase % SKUS.length]!;
  const damaged = SKUS[(phase + 1) % SKUS.length]!;
  expect((await stack.api.delay(`${delayed}-early`, `2031-0${4 + phase}-15`)).status).toBe(200);
  expect((await stack.api.damage(`${damaged}-early`, 40, "water")).status).toBe(200);
}

describe("contract switch", () => {
  it("moves ordering from line_allocated v1 to v2 while allocations flow, missing and repeating nothing", async () => {
    await inParallel(SKUS.length, SKUS.length, async (i) => {
      const sku = SKUS[i]!;
      for (const [ref, qty, eta] of [
        [`${sku}-stock`, 15, null],
        [`${sku}-early`, 60, "2031-03-01"],
        [`${sku}-late`, 200, "2031-09-01"],
      ] as const) {
        expect((await stack.api.registerBatch({ reference: ref, sku, qty, eta })).status).toBe(201);
      }
    });
    for (const sku of SKUS) {
      await productHasBatches(stack, sku, [`${sku}-stock`, `${sku}-early`, `${sku}-late`]);
    }
    const accepted: string[] = [];

    // 1. The old build alone: it applies v1 and skips every v2, so it knows no eta.
    const [first] = await Promise.all([
      placeOrders(stack, PER_PHASE, orderOf(1), { concurrency: 6 }),
      staffNews(1),
    ]);
    expect(first.refused).toEqual([]);
    accepted.push(...first.accepted);
    const shipped = await eventually(
      stack,
      "a line allocated to a shipment, shown by the v1 reader",
      async () => {
        for (const orderId of first.accepted) {
          const line = (await stack.api.getOrder(orderId)).body.lines.find((l) =>
            l.batchref?.endsWith("-early"),
          );
          if (line) return line;
        }
        return undefined;
      },
    );
    expect(shipped.eta).toBeNull();

    // 2. A replica of the new build joins while orders and staff news keep coming.
    const start = startServiceProcess({
      name: "ordering-v2",
      entry: entryOf("ordering"),
      cwd: repoRoot,
      env: {
        HOST: "127.0.0.1",
        DATABASE_URL: stack.databases.ordering.url,
        NATS_URL: stack.nats.url,
        LOG_LEVEL: "warn",
        RATE_LIMIT_PER_MINUTE: "0",
        CONSUMER_ACK_WAIT_MS: "10000",
        CONSUMER_RETRY_DELAYS_MS: "100,250,500,1000",
        OTEL_TRACES_EXPORTER: "none",
        LINE_ALLOCATED_VERSION: "2",
      },
      readyTimeoutMs: 60_000,
    });
    const [second] = await Promise.all([
      placeOrders(stack, PER_PHASE, orderOf(2), { concurrency: 6 }),
      staffNews(2),
      start.then((p) => {
        orderingV2 = p;
      }),
    ]);
    expect(second.refused).toEqual([]);
    accepted.push(...second.accepted);

    // 3. The old build stops; the new one carries on alone.
    expect(await stack.stop("ordering")).toBe(0);
    const upgraded = {
      ...stack,
      api: apiClient({ ...stack.urls, ordering: orderingV2!.url }, stack.staffToken),
    };
    const [third] = await Promise.all([
      placeOrders(upgraded, PER_PHASE, orderOf(3), { concurrency: 6 }),
      staffNews(3),
    ]);
    expect(third.refused).toEqual([]);
    accepted.push(...third.accepted);

    // 4. One old replica comes back once more (a rollback, or a replica that was only
    // paused) and catches up on v1 of the changes the new build has applied as v2: the
    // second copy of each change must take no effect.
    const jsm = await jetstreamManager(stack.natsConnection);
    const caughtUp = (durable: string) =>
      eventually(
        stack,
        `${durable} caught up`,
        async () => {
          const [stream, c] = [
            await jsm.streams.info("ALLOCATION"),
            await jsm.consumers.info("ALLOCATION", durable),
          ];
          return c.delivered.stream_seq === stream.state.last_seq && c.num_ack_pending === 0;
        },
        60_000,
      );
    await caughtUp("ordering-allocation-v2");
    const behind = await jsm.consumers.info("ALLOCATION", V1_DURABLE);
    expect(behind.num_pending).toBeGreaterThan(0);
    await stack.start("ordering");
    await caughtUp(V1_DURABLE);
    expect(await stack.stop("ordering")).toBe(0);

    // The v1 durable has no reader left: an operator removes it (stockflow contracts shows it).
    const v2 = await jsm.consumers.info("ALLOCATION", "ordering-allocation-v2");
    expect(v2.config.description).toContain("allocation.line_allocated.v2");
    await jsm.consumers.delete("ALLOCATION", V1_DURABLE);

    // Every allocated line in ordering matches allocation's, eta included (the invariants
    // compare the three databases); no event twice, no dead letter.
    await assertInvariants(
      { ...stack, logs: (n) => `${stack.logs(n)}\n${orderingV2!.logs()}` },
      {
        acceptedOrderIds: accepted,
        timeoutMs: 90_000,
      },
    );

    // And as the storefront sees it: each allocated line shows its batch's eta.
    const etaOf = new Map<string, string | null>();
    for (const sku of SKUS) {
      for (const b of (await stack.api.getProduct(sku)).body.batches) etaOf.set(b.reference, b.eta);
    }
    let onShipments = 0;
    for (const orderId of accepted) {
      for (const line of (await upgraded.api.getOrder(orderId)).body.lines) {
        expect(line.eta, `${orderId} ${line.sku}`).toBe(line.batchref ? etaOf.get(line.batchref) : null);
        if (line.eta) onShipments++;
      }
    }
    expect(onShipments).toBeGreaterThan(0);
  }, 300_000);
});
