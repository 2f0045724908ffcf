import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import { lineAllocatedV1, lineAllocatedV2, lineDeallocatedV1 } from "@stockflow/contracts";
import {
  createTestDatabase,
  type PrivateNatsServer,
  startNatsServer,
  type TestDatabase,
  waitFor,
} from "@stockflow/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  connectNats,
  createConsumer,
  ensureStreams,
  handle,
  readsDescription,
  subjectsRead,
  takeoverStart,
} from "../src/index.js";
import { openTestDb, silentLogger } from "./support.js";

let pg: TestDatabase;
let nats: PrivateNatsServer;
let nc: NatsConnection;
let h: Awaited<ReturnType<typeof openTestDb>>;

beforeAll(async () => {
  pg = await createTestDatabase("durable_versions");
  nats = await startNatsServer();
  h = await openTestDb(pg.url);
  nc = await connectNats({ servers: nats.url, name: "durable-versions-test", logger: silentLogger });
  await ensureStreams(nc, ["ALLOCATION", "DLQ"]);
  // seq 1 v1, 2 deallocated, 3 v2, 4 v1, 5 v2, 6 v2 (an announcement in v2 only)
  const js = jetstream(nc);
  for (const subject of ["v1", "deallocated", "v2", "v1", "v2", "v2"]) {
    const contract = { v1: lineAllocatedV1, v2: lineAllocatedV2, deallocated: lineDeallocatedV1 }[subject]!;
    await js.publish(contract.subject, "{}");
  }
});

afterAll(async () => {
  await nc?.close();
  await h?.sql.end();
  await nats?.dispose();
  await pg?.drop();
});

/** An old reader's durable that has acknowledged every message up to `floor`. */
async function oldReaderAckedUpTo(durable: string, floor: number) {
  const jsm = await jetstreamManager(nc);
  await jsm.consumers.add("ALLOCATION", {
    durable_name: durable,
    ack_policy: AckPolicy.Explicit,
    filter_subject: "allocation.>",
  });
  const c = await jetstream(nc).consumers.get("ALLOCATION", durable);
  if (floor === 0) return;
  const batch = await c.fetch({ max_messages: floor });
  for await (const m of batch) await m.ackAck();
  await waitFor(
    async () => (await jsm.consumers.info("ALLOCATION", durable)).ack_floor.stream_seq === floor,
    {
      message: `acked up to ${floor}`,
    },
  );
}

describe("a durable that takes over from another reading older versions", () => {
  it.each([
    ["at the first message of a newly read version when that comes before the old one's ack floor", 5, 3],
    ["right after the old one's ack floor when that comes first", 1, 2],
  ])("starts %s", async (_, floor, start) => {
    await oldReaderAckedUpTo(`old-acked-${floor}`, floor);
    const jsm = await jetstreamManager(nc);
    const takeover = { durable: `old-acked-${floor}`, contracts: [lineAllocatedV2] };
    expect(await takeoverStart(jsm, "ALLOCATION", takeover)).toEqual({
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: start,
    });
  });

  it("reads the whole stream when there is no old durable", async () => {
    const jsm = await jetstreamManager(nc);
    expect(
      await takeoverStart(jsm, "ALLOCATION", { durable: "never-there", contracts: [lineAllocatedV2] }),
    ).toEqual({
      deliver_policy: DeliverPolicy.All,
    });
  });

  it("is created from there by the consumer, which then delivers every v2 the old one skipped", async () => {
    await oldReaderAckedUpTo("svc-v1", 6);
    const consumer = createConsumer({
      service: "ordering",
      durable: "svc-v2",
      stream: "ALLOCATION",
      nc,
      db: h.db,
      logger: silentLogger,
      takesOver: { durable: "svc-v1", contracts: [lineAllocatedV2] },
      handlers: [handle(lineAllocatedV2, async () => {})],
    });
    // Bodies of "{}" fail v2's schema and go to the DLQ: what counts here is where it starts.
    const jsm = await jetstreamManager(nc);
    await consumer.start();
    await consumer.stop();
    const info = await jsm.consumers.info("ALLOCATION", "svc-v2");
    expect(info.config.opt_start_seq).toBe(3);
    expect(info.config.deliver_policy).toBe(DeliverPolicy.StartSequence);
    expect(subjectsRead(info.config.description)).toEqual(["allocation.line_allocated.v2"]);
  });
});

describe("a durable's description", () => {
  it("lists the subjects its handlers read, which operators read back", () => {
    const description = readsDescription([lineDeallocatedV1, lineAllocatedV2, lineDeallocatedV1]);
    expect(description).toBe("reads allocation.line_allocated.v2, allocation.line_deallocated.v1");
    expect(subjectsRead(description)).toEqual([
      "allocation.line_allocated.v2",
      "allocation.line_deallocated.v1",
    ]);
    expect(subjectsRead("made by hand")).toBeUndefined();
    expect(subjectsRead(undefined)).toBeUndefined();
  });
});
