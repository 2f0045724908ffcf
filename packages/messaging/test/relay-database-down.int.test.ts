import type { NatsConnection } from "@nats-io/nats-core";
import { orderPlacedV1 } from "@stockflow/contracts";
import {
  type PrivateNatsServer,
  type PrivatePostgresServer,
  startNatsServer,
  startPostgresServer,
  waitFor,
} from "@stockflow/testkit";
import { afterAll, beforeAll, expect, it } from "vitest";
import { connectNats, createOutbox, ensureStreams } from "../src/index.js";
import { openTestDb, silentLogger, streamMessages, testRelay } from "./support.js";

// A private PostgreSQL, stopped and started again while the relay runs.
let pg: PrivatePostgresServer;
let nats: PrivateNatsServer;
let nc: NatsConnection;
let handle: Awaited<ReturnType<typeof openTestDb>>;
const ordering = createOutbox({ service: "ordering" });

beforeAll(async () => {
  pg = await startPostgresServer();
  nats = await startNatsServer();
  handle = await openTestDb(pg.url);
  nc = await connectNats({ servers: nats.url, name: "relay-db-down-test", logger: silentLogger });
  await ensureStreams(nc, ["ORDERING"]);
}, 60_000);

afterAll(async () => {
  await nc?.close();
  await handle?.sql.end({ timeout: 1 });
  await nats?.dispose();
  await pg?.dispose();
});

it("publishes again after the database was down while it asked for a connection", async () => {
  const relay = testRelay(handle, nc, { publishTimeoutMs: 1000 });
  relay.start();
  try {
    await pg.stop();
    // Several polls' worth of asking for a connection while nothing answers.
    const downUntil = Date.now() + 3000;
    await waitFor(() => Date.now() >= downUntil, { timeoutMs: 5000, message: "outage" });
    await pg.start();
    await waitFor(
      () =>
        handle.db
          .transaction((tx) =>
            ordering.enqueue(tx, orderPlacedV1, {
              orderId: "o-after-outage",
              customerId: "c-1",
              lines: [{ sku: "LAMP", qty: 1 }],
              placedAt: new Date().toISOString(),
            }),
          )
          .then(() => true)
          .catch(() => false),
      { timeoutMs: 20_000, message: "an event written once the database is back" },
    );
    await waitFor(async () => (await relay.backlog()).pending === 0, {
      timeoutMs: 20_000,
      message: "the relay published it",
    });
  } finally {
    await relay.stop();
  }
  const ids = (await streamMessages(nc, "ORDERING")).map((m) => m.json<{ orderId: string }>().orderId);
  expect(ids).toContain("o-after-outage");
}, 60_000);
