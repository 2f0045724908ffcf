import { Writable } from "node:stream";
import type { Contract, EventOf } from "@stockflow/contracts";
import { connectNats } from "@stockflow/messaging";
import { eventPublisher } from "@stockflow/messaging/testing";
import { createLogger } from "@stockflow/telemetry";
import {
  createTestDatabase,
  type PrivateNatsServer,
  startNatsServer,
  type TestDatabase,
} from "@stockflow/testkit";
import { bootstrap, type WarehouseService } from "../src/bootstrap.js";
import { loadConfig } from "../src/config.js";
import { type MigratedDatabase, migratedDatabase, quietLogger } from "./support.js";

type Nats = Awaited<ReturnType<typeof connectNats>>;
type Msg = Parameters<NonNullable<NonNullable<Parameters<Nats["subscribe"]>[1]>["callback"]>>[1];

export const STAFF_TOKEN = "s3cret-staff-token-for-tests";

/** A message as seen on the wire by a plain subscriber. */
export interface Seen {
  subject: string;
  body: unknown;
  headers: Record<string, string>;
  raw: Msg;
}

/** A core-NATS subscriber that records everything published under `subjects`. */
export function recorder(nc: Nats, subjects: string) {
  const seen: Seen[] = [];
  nc.subscribe(subjects, {
    callback: (_err, m) => {
      const headers: Record<string, string> = {};
      for (const k of m.headers?.keys() ?? []) headers[k] = m.headers?.get(k) ?? "";
      seen.push({ subject: m.subject, body: JSON.parse(m.string()), headers, raw: m });
    },
  });
  return seen;
}

/** Log lines written by the service, parsed. */
export function logSink() {
  const lines: Record<string, unknown>[] = [];
  const text: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      for (const line of chunk.toString().split("\n").filter(Boolean)) {
        text.push(line);
        lines.push(JSON.parse(line));
      }
      done();
    },
  });
  return { lines, text, destination };
}

export interface Harness {
  nats: PrivateNatsServer;
  service: WarehouseService;
  db: TestDatabase;
  observer: Nats;
  logs: ReturnType<typeof logSink>;
  /** Publishes allocation events the way the allocation service does: outbox + relay. */
  publishAllocation<C extends Contract>(contract: C, payload: EventOf<C>): Promise<void>;
  /** True once the warehouse consumer has acknowledged everything in the ALLOCATION stream. */
  consumerCaughtUp(): Promise<boolean>;
  close(): Promise<void>;
}

async function jsApi<T>(nc: Nats, subject: string): Promise<T> {
  const reply = await nc.request(subject, "", { timeout: 2000 });
  return JSON.parse(reply.string()) as T;
}

/** The service on a fresh database and a private nats-server, plus an "allocation" publisher. */
export async function startHarness(label: string, env: Record<string, string> = {}): Promise<Harness> {
  const nats = await startNatsServer();
  const db = await createTestDatabase(label);
  const logs = logSink();
  const logger = createLogger({
    service: "warehouse",
    level: env.LOG_LEVEL ?? "info",
    destination: logs.destination,
  });
  const config = loadConfig({
    DATABASE_URL: db.url,
    NATS_URL: nats.url,
    WAREHOUSE_STAFF_TOKEN: STAFF_TOKEN,
    PORT: "0",
    ...env,
  });
  const service = await bootstrap(config, logger);
  await service.start();

  const observer = await connectNats({ servers: nats.url, name: "test-observer", logger: quietLogger() });
  // Allocation's side: its own outbox table (same table shape) and relay, publishing for real.
  const allocationDb: MigratedDatabase = await migratedDatabase(`${label}_alloc`);
  const allocation = eventPublisher({
    service: "allocation",
    database: allocationDb,
    nc: observer,
    logger: quietLogger(),
  });

  return {
    nats,
    service,
    db,
    observer,
    logs,
    async publishAllocation(contract, payload) {
      await allocation.publish(contract, payload);
      await allocation.flush();
    },
    async consumerCaughtUp() {
      const stream = await jsApi<{ state: { last_seq: number } }>(observer, "$JS.API.STREAM.INFO.ALLOCATION");
      const consumer = await jsApi<{ ack_floor: { stream_seq: number }; num_pending: number }>(
        observer,
        "$JS.API.CONSUMER.INFO.ALLOCATION.warehouse-allocation",
      );
      return consumer.num_pending === 0 && consumer.ack_floor.stream_seq >= stream.state.last_seq;
    },
    async close() {
      await allocation.stop();
      await service.stop();
      await service.app.close();
      await observer.close();
      await allocationDb.close();
      await db.drop();
      await nats.dispose();
    },
  };
}
