import { jetstreamManager } from "@nats-io/jetstream";
import { type PrivateNatsCluster, startNatsCluster } from "@stockflow/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, productHasBatches } from "../../support/eventually.js";
import { assertInvariants } from "../../support/invariants.js";
import { type Stack, serviceNames, startStack } from "../../support/stack.js";
import { steadyOrders } from "../../support/steady-orders.js";

// Reliability scenario 9: a three-server NATS cluster, every stream with three replicas,
// every service given the three URLs. The server leading the streams is SIGKILLed while
// storefront clients place orders, and comes back later on its store: orders keep being
// allocated while it is away, no service is restarted, nothing is lost or doubled.

const SKUS = ["NS-SOFA", "NS-DESK", "NS-LAMP"];
const STREAMS = ["ORDERING", "ALLOCATION", "WAREHOUSE", "DLQ"];

let cluster: PrivateNatsCluster;
let stack: Stack;

beforeAll(async () => {
  cluster = await startNatsCluster();
  const env = { NATS_STREAM_REPLICAS: "3" };
  stack = await startStack({
    label: "f_nats_dies",
    natsCluster: cluster,
    env: { ordering: env, allocation: env, warehouse: env },
  });
});

afterAll(async () => {
  await stack?.dispose();
  await cluster?.dispose();
});

const orderOf = (i: number) => ({
  customerId: `ns-customer-${i % 20}`,
  lines: [{ sku: SKUS[i % SKUS.length]!, qty: 1 + (i % 3) }],
});

describe("a NATS server dies", () => {
  it("keeps allocating orders while the server leading the streams is dead, and loses or doubles nothing", async () => {
    const jsm = await jetstreamManager(stack.natsConnection);
    for (const name of STREAMS) expect((await jsm.streams.info(name)).config.num_replicas, name).toBe(3);
    for (const sku of SKUS) {
      const res = await stack.api.registerBatch({ reference: `${sku}-stock`, sku, qty: 100_000, eta: null });
      expect(res.status).toBe(201);
      await productHasBatches(stack, sku, [`${sku}-stock`]);
    }

    const load = steadyOrders(stack, orderOf, { clients: 4 });
    try {
      await eventually(stack, "orders allocated before the fault", async () => load.answeredAt.length >= 20);
      const leader = await cluster.streamLeader("ORDERING");
      const led = [];
      for (const name of STREAMS) if ((await cluster.streamLeader(name)) === leader) led.push(name);
      const killedAt = Date.now();
      await leader.kill();

      // Orders placed after the kill are allocated while the server is still dead.
      await eventually(
        stack,
        "orders placed after the kill allocated without that server",
        async () => load.answeredSince(killedAt) >= 20,
        90_000,
      );
      const firstAfterKill = load.answeredAt.find((at) => at >= killedAt)!;
      await leader.start();
      const restartedAt = Date.now();
      await cluster.waitForJetStream();
      await eventually(
        stack,
        "orders allocated after the server came back",
        async () => load.answeredSince(restartedAt) >= 20,
        90_000,
      );
      await load.stop();
      const gap = load.longestGapMs(killedAt, restartedAt);
      console.log(
        `scenario 9: killed ${leader.name} (leading ${led.join(", ")}); first order answered ` +
          `${firstAfterKill - killedAt} ms after the kill; longest time without an allocated order ` +
          `while it was dead: ${gap} ms; dead for ${restartedAt - killedAt} ms; ${load.accepted.length} orders`,
      );
    } finally {
      await load.stop();
    }

    expect(load.refused).toEqual([]);
    for (const name of serviceNames) expect(stack.processes[name].isRunning(), name).toBe(true);
    const { orderStatus } = await assertInvariants(stack, { acceptedOrderIds: load.accepted });
    // Stock covers every order: each one allocated, none twice (the invariants count the events).
    for (const id of load.accepted) expect(orderStatus.get(id), id).toBe("allocated");
  });
});
