import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import {
  type Contract,
  filterCovers,
  lineAllocatedV1,
  lineAllocatedV2,
  lineDeallocatedV1,
  outOfStockV1,
} from "@stockflow/contracts";
import { ensureStreams, readsDescription } from "@stockflow/messaging";
import { type PrivateNatsServer, startNatsServer } from "@stockflow/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run } from "../src/cli.js";
import { durableReads, type SubjectUsage } from "../src/commands/contracts.js";
import { connectCli } from "../src/nats.js";
import { captureOutput } from "./support.js";

let nats: PrivateNatsServer;
let nc: NatsConnection;

/** A service's durable as the kit makes it, reading `contracts`; started only to be created. */
/**
 * A durable as a service's consumer creates it (filter and description as the kit sets them),
 * made without a client pulling: its backlog is every message of the stream, whatever the timing.
 */
async function durable(name: string, contracts: Contract[]) {
  const jsm = await jetstreamManager(nc);
  await jsm.consumers.add("ALLOCATION", {
    durable_name: name,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    filter_subject: "allocation.>",
    description: readsDescription(contracts),
  });
}

async function report(): Promise<Map<string, SubjectUsage>> {
  const capture = captureOutput();
  expect(await run(["contracts", "--json"], { env: { NATS_URL: nats.url }, output: capture.output })).toBe(0);
  const usage = JSON.parse(capture.text()) as SubjectUsage[];
  return new Map(usage.map((u) => [u.subject, u]));
}

beforeAll(async () => {
  nats = await startNatsServer();
  nc = await connectCli({ servers: nats.url });
  await ensureStreams(nc, ["ALLOCATION", "DLQ"]);
  const js = jetstream(nc);
  for (const contract of [
    lineAllocatedV1,
    lineAllocatedV2,
    lineAllocatedV1,
    lineAllocatedV2,
    lineAllocatedV2,
  ]) {
    await js.publish(contract.subject, "{}");
  }
  // The old and the new build of ordering, and warehouse, which stays on v1.
  await durable("ordering-allocation", [lineAllocatedV1, lineDeallocatedV1, outOfStockV1]);
  await durable("ordering-allocation-v2", [lineAllocatedV2, lineDeallocatedV1, outOfStockV1]);
  await durable("warehouse-allocation", [lineAllocatedV1, lineDeallocatedV1]);
});

afterAll(async () => {
  await nc?.close();
  await nats?.dispose();
});

describe("stockflow contracts", () => {
  it("shows each subject's stream, publisher, message count and last message time", async () => {
    const usage = await report();
    expect(usage.get(lineAllocatedV1.subject)).toMatchObject({
      stream: "ALLOCATION",
      publisher: "allocation",
      messages: 2,
      deprecatedFor: lineAllocatedV2.subject,
    });
    expect(usage.get(lineAllocatedV2.subject)).toMatchObject({ messages: 3, deprecatedFor: null });
    const last = Date.parse(usage.get(lineAllocatedV2.subject)!.lastPublishedAt!);
    expect(Date.now() - last).toBeLessThan(10 * 60_000);
    expect(usage.get(outOfStockV1.subject)).toMatchObject({ messages: 0, lastPublishedAt: null });
    expect(usage.get("ordering.order_placed.v1")).toMatchObject({
      stream: "ORDERING",
      messages: 0,
      readers: [],
    });
  });

  it("lists the durables that read each subject, from the broker's consumer configuration, with their backlog", async () => {
    const usage = await report();
    const readers = (subject: string) =>
      usage.get(subject)!.readers.map((r) => [r.durable, r.filter, r.backlog]);
    expect(readers(lineAllocatedV1.subject)).toEqual([
      ["ordering-allocation", "allocation.>", 5],
      ["warehouse-allocation", "allocation.>", 5],
    ]);
    expect(readers(lineAllocatedV2.subject)).toEqual([["ordering-allocation-v2", "allocation.>", 5]]);
    expect(readers(lineDeallocatedV1.subject).map(([name]) => name)).toEqual([
      "ordering-allocation",
      "ordering-allocation-v2",
      "warehouse-allocation",
    ]);
    expect(usage.get(lineAllocatedV1.subject)!.readers.every((r) => !r.pulling)).toBe(true);
  });

  it("flags a deprecated version with its remaining readers, and says when none is left", async () => {
    const before = captureOutput();
    await run(["contracts"], { env: { NATS_URL: nats.url }, output: before.output });
    expect(before.text()).toContain("allocation.line_allocated.v1 (deprecated)");
    expect(before.text()).toContain(
      "allocation.line_allocated.v1 is deprecated (superseded by allocation.line_allocated.v2): 2 reader(s) left: ordering-allocation, warehouse-allocation",
    );
    const jsm = await jetstreamManager(nc);
    await jsm.consumers.delete("ALLOCATION", "ordering-allocation");
    await jsm.consumers.delete("ALLOCATION", "warehouse-allocation");
    const after = captureOutput();
    await run(["contracts"], { env: { NATS_URL: nats.url }, output: after.output });
    expect(after.text()).toContain(
      "allocation.line_allocated.v1 is deprecated (superseded by allocation.line_allocated.v2): no reader left, allocation may stop publishing it",
    );
  });

  it("fails with exit code 2 when NATS cannot be reached", async () => {
    const capture = captureOutput();
    expect(
      await run(["contracts"], { env: { NATS_URL: "nats://127.0.0.1:1" }, output: capture.output }),
    ).toBe(2);
  });
});

describe("which durables read a subject", () => {
  it("matches NATS filters token by token", () => {
    expect(filterCovers("allocation.>", "allocation.line_allocated.v2")).toBe(true);
    expect(filterCovers("allocation.*.v1", "allocation.line_allocated.v2")).toBe(false);
    expect(filterCovers("allocation.line_allocated.v2", "allocation.line_allocated.v2")).toBe(true);
    expect(filterCovers("ordering.>", "allocation.line_allocated.v2")).toBe(false);
  });

  it("takes a durable without the kit's description as reading everything its filter covers", () => {
    const bare = { config: { filter_subject: "allocation.>" } } as Parameters<typeof durableReads>[0];
    expect(durableReads(bare, lineAllocatedV1.subject)).toBe(true);
    const kit = {
      config: { filter_subject: "allocation.>", description: "reads allocation.line_allocated.v2" },
    };
    expect(durableReads(kit as Parameters<typeof durableReads>[0], lineAllocatedV1.subject)).toBe(false);
  });
});
