import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import {
  batchRegisteredV1,
  type Contract,
  lineAllocatedV1,
  lineAllocatedV2,
  orderPlacedV1,
  type ServiceName,
  type StreamName,
} from "@stockflow/contracts";
// e2e/package.json does not list @stockflow/messaging nor drizzle-orm: reach the package's
// source and its own test helper (outbox/inbox DDL + drizzle) by path.
import {
  type Consumer,
  connectNats,
  createConsumer,
  createOutbox,
  createOutboxRelay,
  ensureStreams,
  handle,
  type Logger,
  type OutboxRelay,
  type Takeover,
} from "@stockflow/messaging";
import { createMessagingTables } from "@stockflow/messaging/testing";
import {
  createTestDatabase,
  type PrivateNatsServer,
  startNatsServer,
  type TestDatabase,
  waitFor,
} from "@stockflow/testkit";
import { drizzle } from "drizzle-orm/postgres-js";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

async function openTestDb(url: string) {
  const sql = postgres(url, { max: 4, onnotice: () => {} });
  await createMessagingTables(sql);
  return { sql, db: drizzle(sql) };
}

const CONFIG = fileURLToPath(new URL("../../deploy/nats/nats.conf", import.meta.url));

// nats.conf reads the passwords from nats-server's environment, which the child inherits.
const passwords = {
  ordering: `ordering-${randomUUID()}`,
  allocation: `allocation-${randomUUID()}`,
  warehouse: `warehouse-${randomUUID()}`,
  operator: `operator-${randomUUID()}`,
};
for (const [user, password] of Object.entries(passwords)) {
  process.env[`${user.toUpperCase()}_NATS_PASSWORD`] = password;
}

interface LogLine {
  level: string;
  obj: object;
  msg?: string;
}

function recordingLogger(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const at = (level: string) => (obj: object, msg?: string) => void lines.push({ level, obj, msg });
  return { logger: { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") }, lines };
}

interface Reads {
  stream: StreamName;
  durable: string;
  contracts: Contract[];
  takesOver?: Takeover;
}

/** What each service does on start, as the contract says: its streams, its durables. */
const wiring: Record<ServiceName, { streams: StreamName[]; reads: Reads[] }> = {
  ordering: {
    streams: ["ORDERING", "ALLOCATION", "DLQ"],
    reads: [
      {
        stream: "ALLOCATION",
        durable: "ordering-allocation-v2",
        contracts: [lineAllocatedV2],
        takesOver: { durable: "ordering-allocation", contracts: [lineAllocatedV2] },
      },
    ],
  },
  allocation: {
    streams: ["ALLOCATION", "ORDERING", "WAREHOUSE", "DLQ"],
    reads: [
      { stream: "ORDERING", durable: "allocation-ordering", contracts: [orderPlacedV1] },
      { stream: "WAREHOUSE", durable: "allocation-warehouse", contracts: [batchRegisteredV1] },
    ],
  },
  warehouse: {
    streams: ["WAREHOUSE", "ALLOCATION", "DLQ"],
    reads: [{ stream: "ALLOCATION", durable: "warehouse-allocation", contracts: [lineAllocatedV1] }],
  },
};

interface RunningService {
  nc: NatsConnection;
  db: Awaited<ReturnType<typeof openTestDb>>;
  relay: OutboxRelay;
  consumers: Consumer[];
  /** Subjects its handlers ran for. */
  handled: string[];
  lines: LogLine[];
  database: TestDatabase;
}

let nats: PrivateNatsServer;
const services = new Map<ServiceName, RunningService>();
const extraConnections: NatsConnection[] = [];

async function startService(name: ServiceName): Promise<RunningService> {
  const database = await createTestDatabase(`nats_perm_${name}`);
  const db = await openTestDb(database.url);
  const { logger, lines } = recordingLogger();
  const nc = await connectNats({
    servers: nats.url,
    user: name,
    password: passwords[name],
    name: `${name}-permissions-test`,
    logger,
  });
  await ensureStreams(nc, wiring[name].streams);
  const handled: string[] = [];
  const consumers = wiring[name].reads.map((r) =>
    createConsumer({
      service: name,
      durable: r.durable,
      stream: r.stream,
      nc,
      db: db.db,
      logger,
      retryDelaysMs: [50],
      ...(r.takesOver ? { takesOver: r.takesOver } : {}),
      handlers: r.contracts.map((c) =>
        handle(c, async (_tx, _event, meta) => void handled.push(meta.subject)),
      ),
    }),
  );
  for (const c of consumers) await c.start();
  const relay = createOutboxRelay({ service: name, db: db.db, sql: db.sql, nc, logger, pollIntervalMs: 100 });
  relay.start();
  return { nc, db, relay, consumers, handled, lines, database };
}

const service = (name: ServiceName): RunningService => {
  const s = services.get(name);
  if (!s) throw new Error(`${name} is not running`);
  return s;
};

async function connectAs(user: keyof typeof passwords): Promise<NatsConnection> {
  const nc = await connect({ servers: nats.url, user, pass: passwords[user], name: `${user}-probe` });
  extraConnections.push(nc);
  return nc;
}

const errorLines = (s: RunningService) => s.lines.filter((l) => l.level === "error" || l.level === "warn");

beforeAll(async () => {
  nats = await startNatsServer({ args: ["-c", CONFIG] });
  for (const name of ["ordering", "allocation", "warehouse"] as const)
    services.set(name, await startService(name));
});

afterAll(async () => {
  for (const s of services.values()) {
    for (const c of s.consumers) await c.stop().catch(() => {});
    await s.relay.stop().catch(() => {});
    await s.nc.close().catch(() => {});
    await s.db.sql.end().catch(() => {});
    await s.database.drop().catch(() => {});
  }
  for (const nc of extraConnections) await nc.close().catch(() => {});
  await nats?.dispose();
});

describe("nats.conf: one least-privilege user per service", () => {
  it("lets each service create its streams and durables, publish its own events and consume what it reads", async () => {
    const outbox = (name: ServiceName) => createOutbox({ service: name });
    const orderId = `o-${randomUUID()}`;
    await outbox("ordering").enqueue(service("ordering").db.db, orderPlacedV1, {
      orderId,
      customerId: "c-1",
      lines: [{ sku: "LAMP", qty: 1 }],
      placedAt: new Date().toISOString(),
    });
    await outbox("warehouse").enqueue(service("warehouse").db.db, batchRegisteredV1, {
      reference: "b-1",
      sku: "LAMP",
      qty: 10,
      eta: null,
    });
    await outbox("allocation").enqueue(service("allocation").db.db, lineAllocatedV2, {
      orderId,
      sku: "LAMP",
      qty: 1,
      batchref: "b-1",
      eta: null,
      version: 1,
    });

    await waitFor(
      () =>
        service("allocation").handled.includes(orderPlacedV1.subject) &&
        service("allocation").handled.includes(batchRegisteredV1.subject) &&
        service("ordering").handled.includes(lineAllocatedV2.subject) &&
        service("warehouse").handled.includes(lineAllocatedV1.subject),
      { timeoutMs: 15_000, message: "every service handled what it reads" },
    );
    for (const name of ["ordering", "allocation", "warehouse"] as const) {
      // A row is marked published after its ack: a consumer can see the event first.
      await waitFor(async () => (await service(name).relay.backlog()).pending === 0, {
        message: `${name}'s outbox drained`,
      });
      expect(service(name).consumers.every((c) => c.isRunning())).toBe(true);
      expect(errorLines(service(name))).toEqual([]);
    }
  });

  it("lets a consumer dead-letter a message to its own DLQ subjects", async () => {
    await jetstream(service("ordering").nc).publish(orderPlacedV1.subject, "{not json", {
      msgID: randomUUID(),
    });
    const jsm = await jetstreamManager(await connectAs("operator"));
    await waitFor(
      async () => {
        const info = await jsm.streams.info("DLQ", { subjects_filter: "dlq.>" });
        return Object.keys(info.state.subjects ?? {}).includes(`dlq.allocation.${orderPlacedV1.subject}`);
      },
      { timeoutMs: 15_000, message: "the dead letter in DLQ" },
    );
    expect(service("allocation").consumers.every((c) => c.isRunning())).toBe(true);
  });

  it("refuses the allocation user publishing ordering.order_placed.v1, and connectNats logs why", async () => {
    const allocation = service("allocation");
    const publish = jetstream(allocation.nc).publish(
      orderPlacedV1.subject,
      JSON.stringify({ orderId: "forged", customerId: "c", lines: [{ sku: "X", qty: 1 }], placedAt: "x" }),
      { msgID: randomUUID(), timeout: 2000 },
    );
    await expect(publish).rejects.toThrow(
      /permissions violation for publish to "ordering\.order_placed\.v1"/i,
    );

    const jsm = await jetstreamManager(await connectAs("operator"));
    const ordering = await jsm.streams.info("ORDERING", { subjects_filter: ">" });
    expect(ordering.state.messages).toBe(2); // the placed order and the bad JSON above, nothing forged
    await waitFor(
      () =>
        allocation.lines.some(
          (l) =>
            l.level === "error" &&
            /Permissions Violation for Publish to "ordering\.order_placed\.v1"/i.test(l.msg ?? ""),
        ),
      { timeoutMs: 5000, message: "connectNats logged the permissions violation" },
    );
  });

  it("refuses a service publishing dead letters in another service's name", async () => {
    const publish = jetstream(service("warehouse").nc).publish(
      `dlq.allocation.${orderPlacedV1.subject}`,
      "{}",
      {
        timeout: 2000,
      },
    );
    await expect(publish).rejects.toThrow(/permissions violation/i);
  });

  it("refuses the ordering user a consumer on a stream it does not read", async () => {
    const { logger } = recordingLogger();
    const sneaky = createConsumer({
      service: "ordering",
      durable: "ordering-warehouse",
      stream: "WAREHOUSE",
      nc: service("ordering").nc,
      db: service("ordering").db.db,
      logger,
      handlers: [handle(batchRegisteredV1, async () => {})],
    });
    await expect(sneaky.start()).rejects.toThrow(/permissions violation/i);
  });

  it("refuses the ordering user another service's durable, even on a stream it reads", async () => {
    const nc = await connectAs("ordering");
    const jsm = await jetstreamManager(nc);
    await expect(
      jsm.consumers.add("ALLOCATION", {
        durable_name: "warehouse-allocation-2",
        filter_subject: "allocation.>",
      }),
    ).rejects.toThrow(/permissions violation/i);
    await expect(
      jsm.consumers.add("ORDERING", { durable_name: "allocation-ordering", filter_subject: "ordering.>" }),
    ).rejects.toThrow(/permissions violation/i);
    // Pulling from warehouse's durable would steal its messages.
    await expect(jetstream(nc).consumers.get("ALLOCATION", "warehouse-allocation")).rejects.toThrow(
      /permissions violation/i,
    );
  });

  it("refuses the ordering user reading another stream's messages directly", async () => {
    const jsm = await jetstreamManager(await connectAs("ordering"));
    await expect(jsm.streams.getMessage("WAREHOUSE", { seq: 1 })).rejects.toThrow(/permissions violation/i);
    await expect(jsm.streams.delete("ORDERING")).rejects.toThrow(/permissions violation/i);
  });

  it("refuses a client without credentials or with a wrong password", async () => {
    await expect(connect({ servers: nats.url, reconnect: false })).rejects.toThrow(/authorization/i);
    await expect(
      connect({ servers: nats.url, user: "ordering", pass: "wrong", reconnect: false }),
    ).rejects.toThrow(/authorization/i);
  });

  it("lets the operator read the dead letters and replay one to its original subject", async () => {
    const nc = await connectAs("operator");
    const jsm = await jetstreamManager(nc);
    const dlq = await jsm.streams.info("DLQ");
    const letter = await jsm.streams.getMessage("DLQ", { seq: dlq.state.first_seq });
    if (!letter) throw new Error("no dead letter to replay");
    expect(letter.subject).toBe(`dlq.allocation.${orderPlacedV1.subject}`);
    const ack = await jetstream(nc).publish(orderPlacedV1.subject, letter.data, { msgID: randomUUID() });
    expect(ack.stream).toBe("ORDERING");
    await jsm.streams.deleteMessage("DLQ", letter.seq);
    await expect(jsm.streams.delete("DLQ")).rejects.toThrow(/permissions violation/i);
  });
});
