import {
  type PrivateNatsCluster,
  type PrivatePostgresServer,
  startNatsCluster,
  startPostgresServer,
} from "@stockflow/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, productHasBatches } from "../../support/eventually.js";
import { describeFault, type Fault, faultSchedule, seededRandom } from "../../support/fault-schedule.js";
import { assertInvariants } from "../../support/invariants.js";
import { type Stack, serviceNames, startStack } from "../../support/stack.js";
import { steadyOrders } from "../../support/steady-orders.js";

// Reliability scenario 11: on a three-server NATS cluster (streams with three replicas),
// with PostgreSQL a private server, a schedule drawn from a seed SIGKILLs and restarts
// services and NATS servers and restarts PostgreSQL while storefront clients order and
// cancel and staff report damage; at the end every invariant holds. CI runs one short
// fixed seed; `pnpm faults:random` runs longer with several (FAULT_SEEDS, FAULT_DURATION_MS).
// One process per service here: the replicas scenario (two of each) is another test.

const SEEDS = (process.env.FAULT_SEEDS ?? "20261203").split(",").map((s) => Number(s.trim()));
const DURATION_MS = Number(process.env.FAULT_DURATION_MS ?? 30_000);
const SKUS = ["RF-SOFA", "RF-DESK", "RF-LAMP"];
const STREAMS = ["ORDERING", "ALLOCATION", "WAREHOUSE", "DLQ"];

const until = (at: number) => new Promise((r) => setTimeout(r, Math.max(0, at - Date.now())));

describe.each(SEEDS)("randomized faults with seed %i", (seed) => {
  let pg: PrivatePostgresServer;
  let cluster: PrivateNatsCluster;
  let stack: Stack;

  beforeAll(async () => {
    pg = await startPostgresServer();
    cluster = await startNatsCluster();
    const env = { NATS_STREAM_REPLICAS: "3" };
    stack = await startStack({
      label: `f_random_${seed}`,
      natsCluster: cluster,
      adminDatabaseUrl: pg.url,
      env: { ordering: env, allocation: env, warehouse: env },
    });
  });

  afterAll(async () => {
    await stack?.dispose();
    await cluster?.dispose();
    await pg?.dispose();
  });

  async function inject(f: Fault, back: number): Promise<void> {
    if (f.kind === "kill-service") {
      await stack.kill(f.service);
      await until(back);
      await stack.start(f.service);
    } else if (f.kind === "kill-nats") {
      const server = cluster.servers[f.server]!;
      await server.kill();
      await until(back);
      await server.start();
      // The next fault may take another server: this one must hold its replicas again first.
      await cluster.waitForReplicasCurrent(STREAMS);
    } else {
      await pg.stop();
      await until(back);
      await pg.start();
    }
  }

  it("holds every invariant after a seeded schedule of crashes and restarts under load", {
    timeout: DURATION_MS + 300_000,
  }, async () => {
    const schedule = faultSchedule(seed, { durationMs: DURATION_MS, services: serviceNames, natsServers: 3 });
    console.log(
      `scenario 11: seed ${seed}, ${DURATION_MS} ms (replay: FAULT_SEEDS=${seed} FAULT_DURATION_MS=${DURATION_MS} pnpm faults:random)\n  ${schedule
        .map(describeFault)
        .join("\n  ")}`,
    );
    for (const sku of SKUS) {
      expect(
        (await stack.api.registerBatch({ reference: `${sku}-a`, sku, qty: 5000, eta: null })).status,
      ).toBe(201);
      const shipment = { reference: `${sku}-b`, sku, qty: 5000, eta: "2031-02-01" };
      expect((await stack.api.registerBatch(shipment)).status).toBe(201);
      await productHasBatches(stack, sku, [`${sku}-a`, `${sku}-b`]);
    }

    const random = seededRandom(seed + 1);
    const load = steadyOrders(stack, (i) => ({
      customerId: `rf-customer-${i % 40}`,
      lines: [{ sku: SKUS[i % SKUS.length]!, qty: 1 + (i % 4) }],
    }));
    let stopping = false;
    // Staff and storefront side traffic; a request that fails during a fault is not retried.
    const side = (async () => {
      while (!stopping) {
        const id = load.accepted[Math.floor(random() * load.accepted.length)];
        if (id && random() < 0.3) await stack.api.cancelOrder(id).catch(() => {});
        if (random() < 0.1)
          await stack.api
            .damage(`${SKUS[Math.floor(random() * SKUS.length)]}-a`, 1, "dropped")
            .catch(() => {});
        await new Promise((r) => setTimeout(r, 200));
      }
    })();

    const started = Date.now();
    try {
      for (const f of schedule) {
        await until(started + f.atMs);
        await inject(f, Date.now() + f.downMs);
      }
      await until(started + DURATION_MS);
      await eventually(stack, "orders allocated after the last fault", async () => {
        const before = load.answeredAt.length;
        await until(Date.now() + 1000);
        return load.answeredAt.length > before;
      });
    } finally {
      stopping = true;
      await side;
      await load.stop();
    }
    console.log(
      `scenario 11: seed ${seed}: ${load.accepted.length} orders accepted, ${load.refused.length} requests refused during faults`,
    );
    for (const name of serviceNames) expect(stack.processes[name].isRunning(), name).toBe(true);
    await assertInvariants(stack, { acceptedOrderIds: load.accepted, timeoutMs: 120_000 });
  });
});
