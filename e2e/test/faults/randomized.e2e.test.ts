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

// Reliability scenario 11: two replicas of every service on a three-server NATS cluster
// (streams with three replicas), with PostgreSQL a private server; a schedule drawn from a
// seed SIGKILLs and restarts single service replicas and NATS servers and restarts
// PostgreSQL once while storefront clients order and cancel and staff report damage and
// delays; once everything is back, every invariant holds. CI runs one short fixed seed;
// `pnpm faults:random` runs longer with several (FAULT_SEEDS, FAULT_DURATION_MS).

// CI's seed, chosen for what its 30 s schedule hits: a replica of ordering (#1) and of
// allocation (#0), two NATS servers and PostgreSQL.
const SEEDS = (process.env.FAULT_SEEDS ?? "20261205").split(",").map((s) => Number(s.trim()));
const DURATION_MS = Number(process.env.FAULT_DURATION_MS ?? 30_000);
const SKUS = ["RF-SOFA", "RF-DESK", "RF-LAMP"];
const STREAMS = ["ORDERING", "ALLOCATION", "WAREHOUSE", "DLQ"];
const REPLICAS = 2;

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
      replicas: REPLICAS,
      readyTimeoutMs: 120_000,
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
      await stack.kill(f.service, f.replica);
      await until(back);
      await stack.start(f.service, f.replica);
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
    const schedule = faultSchedule(seed, {
      durationMs: DURATION_MS,
      services: serviceNames,
      replicas: REPLICAS,
      natsServers: 3,
    });
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
    let delays = 0;
    const answered = { cancels: 0, damage: 0, delays: 0 };
    const count = (what: keyof typeof answered) => (res: { status: number }) => {
      if (res.status < 300) answered[what]++;
    };
    // Staff and storefront side traffic; a request that fails during a fault is not retried.
    // A delay moves a shipment a day later than the last one asked (a delay never goes back).
    const side = (async () => {
      while (!stopping) {
        const id = load.accepted[Math.floor(random() * load.accepted.length)];
        if (id && random() < 0.3) await stack.api.cancelOrder(id).then(count("cancels"), () => {});
        const sku = SKUS[Math.floor(random() * SKUS.length)]!;
        if (random() < 0.1) await stack.api.damage(`${sku}-a`, 1, "dropped").then(count("damage"), () => {});
        if (random() < 0.05) {
          const eta = new Date(Date.UTC(2031, 1, 2 + delays++)).toISOString().slice(0, 10);
          await stack.api.delay(`${sku}-b`, eta).then(count("delays"), () => {});
        }
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
      `scenario 11: seed ${seed}: ${load.accepted.length} orders accepted, ${load.refused.length} requests refused during faults; ` +
        `answered: ${answered.cancels} cancels, ${answered.damage} damage and ${answered.delays} delay reports`,
    );
    for (const name of serviceNames)
      for (const replica of stack.replicas[name].replicas)
        expect(replica.isRunning(), replica.name).toBe(true);
    await assertInvariants(stack, { acceptedOrderIds: load.accepted, timeoutMs: 120_000 });
  });
});
