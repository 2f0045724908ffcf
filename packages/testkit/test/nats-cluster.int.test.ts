import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type PrivateNatsCluster, portAcceptsConnections, startNatsCluster, waitFor } from "../src/index.js";

describe("a private NATS cluster", () => {
  let cluster: PrivateNatsCluster;
  beforeAll(async () => {
    cluster = await startNatsCluster();
  });
  afterAll(async () => {
    await cluster?.dispose();
  });

  it("runs three JetStream servers that keep a replicated stream through the loss of its leader", async () => {
    expect(cluster.servers).toHaveLength(3);
    const nc = await connect({
      servers: [...cluster.urls],
      maxReconnectAttempts: -1,
      reconnectTimeWait: 100,
    });
    try {
      const jsm = await jetstreamManager(nc);
      await jsm.streams.add({ name: "KEPT", subjects: ["kept.>"], num_replicas: 3 });
      const js = jsm.jetstream();
      for (let i = 0; i < 10; i++) await js.publish(`kept.${i}`, "x");

      const leader = await cluster.streamLeader("KEPT");
      await leader.kill();
      expect(await portAcceptsConnections(leader.port)).toBe(false);
      const next = await waitForNewLeader(cluster, "KEPT", leader.name);
      expect(next.name).not.toBe(leader.name);
      expect((await jsm.streams.info("KEPT")).state.messages).toBe(10);

      await leader.start();
      expect(await portAcceptsConnections(leader.port)).toBe(true);
      await cluster.waitForJetStream();
    } finally {
      await nc.close();
    }
  });
});

async function waitForNewLeader(cluster: PrivateNatsCluster, stream: string, old: string) {
  return waitFor(
    async () => {
      const s = await cluster.streamLeader(stream);
      return s.name !== old ? s : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 200, message: `a new leader of ${stream}` },
  );
}
