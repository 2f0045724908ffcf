import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import { drizzle } from "drizzle-orm/postgres-js";
import pino from "pino";
import postgres from "postgres";

// The tables as a service's migration creates them from the shared drizzle schema.
const DDL = `
create table outbox (
  id bigserial primary key,
  event_id uuid not null unique,
  subject text not null,
  payload jsonb not null,
  headers jsonb not null,
  created_at timestamptz not null default now(),
  published_at timestamptz
);
create index outbox_pending_idx on outbox (id) where published_at is null;
create table inbox (
  consumer text not null,
  message_id text not null,
  subject text not null,
  processed_at timestamptz not null default now(),
  primary key (consumer, message_id)
);
create table effects (id serial primary key, note text not null);
`;

export async function openTestDb(url: string) {
  const sql = postgres(url, { max: 4, onnotice: () => {} });
  await sql.unsafe(DDL);
  return { sql, db: drizzle(sql) };
}

export const silentLogger = pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" });

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
