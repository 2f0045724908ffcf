import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import { drizzle } from "drizzle-orm/postgres-js";
import pino from "pino";
import postgres from "postgres";
import { createOutboxRelay, type OutboxRelayOptions } from "../src/relay/relay.js";
import { createMessagingTables } from "../src/testing.js";

export async function openTestDb(url: string) {
  const sql = postgres(url, { max: 4, onnotice: () => {} });
  await createMessagingTables(sql);
  await sql`create table effects (id serial primary key, note text not null)`;
  return { sql, db: drizzle(sql) };
}

export const silentLogger = pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" });

/** ordering's relay over a test database, polling every 100 ms besides its wakes. */
export function testRelay(
  db: Awaited<ReturnType<typeof openTestDb>>,
  nc: NatsConnection,
  options: Partial<OutboxRelayOptions> = {},
) {
  return createOutboxRelay({
    service: "ordering",
    db: db.db,
    sql: db.sql,
    nc,
    logger: silentLogger,
    pollIntervalMs: 100,
    ...options,
  });
}

export async function streamMessages(nc: NatsConnection, stream: string) {
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(stream);
  const out = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
    const m = await jsm.streams.getMessage(stream, { seq }).catch(() => undefined);
    if (m) out.push(m);
  }
  return out;
}

export { jetstream };
