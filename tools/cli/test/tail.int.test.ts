import { randomUUID } from "node:crypto";
import { jetstream } from "@nats-io/jetstream";
import { headers, type NatsConnection } from "@nats-io/nats-core";
import { ensureStreams } from "@stockflow/messaging";
import { type PrivateNatsServer, startNatsServer, waitFor } from "@stockflow/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run } from "../src/cli.js";
import { tail } from "../src/commands/tail.js";
import { connectCli } from "../src/nats.js";
import { captureOutput, eventHeaders, newTraceparent, placed } from "./support.js";

let nats: PrivateNatsServer;
let nc: NatsConnection;

beforeAll(async () => {
  nats = await startNatsServer();
  nc = await connectCli({ servers: nats.url });
  await ensureStreams(nc, ["ORDERING", "ALLOCATION"]);
});

afterAll(async () => {
  await nc?.close();
  await nats?.dispose();
});

describe("stockflow tail", () => {
  it("prints JetStream events on the filter with their ce-id and trace id, and stops after --count", async () => {
    const cap = captureOutput();
    const done = run(["tail", "ordering.>", "--count", "2"], {
      env: { NATS_URL: nats.url },
      output: cap.output,
    });
    await waitFor(() => cap.err.some((l) => l.startsWith("tailing ordering.>")), {
      message: "tail subscribed",
    });

    const sent = [
      { ceId: randomUUID(), traceparent: newTraceparent(), body: JSON.stringify(placed("o-tail-1")) },
      { ceId: randomUUID(), traceparent: newTraceparent(), body: JSON.stringify(placed("o-tail-2")) },
    ];
    const js = jetstream(nc);
    // Outside the filter: must not count towards --count.
    await js.publish("allocation.line_allocated.v1", "{}", {
      headers: eventHeaders("allocation.line_allocated.v1"),
    });
    for (const s of sent) {
      await js.publish("ordering.order_placed.v1", s.body, {
        headers: eventHeaders("ordering.order_placed.v1", s.ceId, s.traceparent),
      });
    }

    expect(await done).toBe(0);
    expect(cap.out).toHaveLength(2);
    sent.forEach((s, i) => {
      const line = cap.out[i]!;
      expect(line).toContain("ordering.order_placed.v1");
      expect(line).toContain(`ce-id=${s.ceId}`);
      expect(line).toContain(`trace=${s.traceparent.split("-")[1]}`);
      expect(line).toContain(s.body);
    });
  });

  it("prints one JSON object per event with --json and stops when its signal aborts", async () => {
    const cap = captureOutput();
    const controller = new AbortController();
    let ready = false;
    const done = tail({ nc, output: cap.output }, "ordering.*.v1", {
      json: true,
      signal: controller.signal,
      onReady: () => {
        ready = true;
      },
    });
    await waitFor(() => ready, { message: "tail subscribed" });
    const h = headers();
    h.set("ce-id", "no-trace");
    nc.publish("ordering.order_cancelled.v1", '{"orderId":"o-1"}', { headers: h });
    await waitFor(() => cap.out.length === 1, { message: "one event printed" });
    controller.abort();
    const events = await done;
    expect(events).toHaveLength(1);
    expect(JSON.parse(cap.out[0]!)).toEqual({
      subject: "ordering.order_cancelled.v1",
      ceId: "no-trace",
      traceId: "",
      body: '{"orderId":"o-1"}',
    });
  });
});
