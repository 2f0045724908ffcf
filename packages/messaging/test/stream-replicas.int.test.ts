import { jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import { type PrivateNatsCluster, startNatsCluster } from "@stockflow/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectNats, ensureStreams, type Logger } from "../src/index.js";

/** A logger that keeps its warnings. */
function recordingLogger() {
  const warnings: { obj: object; msg?: string }[] = [];
  const logger: Logger = {
    debug() {},
    info() {},
    warn: (obj, msg) => warnings.push({ obj, ...(msg !== undefined ? { msg } : {}) }),
    error() {},
  };
  return { logger, warnings };
}

describe("NATS_STREAM_REPLICAS", () => {
  let cluster: PrivateNatsCluster;
  let nc: NatsConnection;
  beforeAll(async () => {
    cluster = await startNatsCluster();
    nc = await connectNats({ servers: cluster.url, name: "replicas-test", logger: recordingLogger().logger });
  });
  afterAll(async () => {
    await nc?.close();
    await cluster?.dispose();
  });

  it("creates missing streams with the given replicas, placed on as many servers", async () => {
    const { logger, warnings } = recordingLogger();
    await ensureStreams(nc, ["ORDERING", "DLQ"], { replicas: 3, logger });
    const jsm = await jetstreamManager(nc);
    for (const name of ["ORDERING", "DLQ"]) {
      const info = await jsm.streams.info(name);
      expect(info.config.num_replicas).toBe(3);
      expect(info.cluster?.replicas ?? []).toHaveLength(2);
    }
    expect(warnings).toEqual([]);
  });

  it("keeps an existing stream's own replicas and says so once, naming both figures", async () => {
    const { logger, warnings } = recordingLogger();
    await ensureStreams(nc, ["WAREHOUSE"], { replicas: 1, logger });
    await ensureStreams(nc, ["WAREHOUSE", "ORDERING"], { replicas: 3, logger });
    const jsm = await jetstreamManager(nc);
    expect((await jsm.streams.info("WAREHOUSE")).config.num_replicas).toBe(1);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.obj).toMatchObject({ stream: "WAREHOUSE", replicas: 1, NATS_STREAM_REPLICAS: 3 });
  });

  it("creates streams with one replica by default", async () => {
    await ensureStreams(nc, ["ALLOCATION"]);
    const jsm = await jetstreamManager(nc);
    expect((await jsm.streams.info("ALLOCATION")).config.num_replicas).toBe(1);
  });
});
