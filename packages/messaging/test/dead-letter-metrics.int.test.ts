import { jetstream } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";
import { type PrivateNatsServer, startNatsServer } from "@stockflow/testkit";
import client from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { watchDeadLetters } from "../src/dead-letter-metrics.js";
import { ensureStreams } from "../src/index.js";

let server: PrivateNatsServer;
let nc: NatsConnection;

beforeAll(async () => {
  server = await startNatsServer();
  nc = await connect({ servers: server.url });
  await ensureStreams(nc, ["DLQ"]);
});

afterAll(async () => {
  await nc?.close();
  await server?.dispose();
});

describe("the dead-letter metrics of a consumer", () => {
  it("show a zero series per subject and reason before any dead letter, and count the service's waiting ones", async () => {
    const counter = new client.Counter({
      name: "test_dead_lettered_total",
      help: "test",
      labelNames: ["consumer", "subject", "reason"],
      registers: [],
    });
    watchDeadLetters(counter, {
      service: "ordering",
      durable: "ordering-allocation",
      subjects: ["a.b.v1"],
      nc,
    });
    const series = (await counter.get()).values;
    expect(series.map((s) => [s.labels.reason, s.value])).toEqual([
      ["invalid_json", 0],
      ["schema_violation", 0],
      ["unknown_version", 0],
      ["max_deliveries", 0],
    ]);

    const js = jetstream(nc);
    await js.publish("dlq.ordering.a.b.v1", "x");
    await js.publish("dlq.ordering.a.b.v1", "y");
    await js.publish("dlq.warehouse.a.b.v1", "z");
    const gauge = client.register.getSingleMetric("stockflow_dead_letters_waiting") as client.Gauge<string>;
    const waiting = (await gauge.get()).values.find((v) => v.labels.service === "ordering");
    expect(waiting?.value).toBe(2);
  });
});
