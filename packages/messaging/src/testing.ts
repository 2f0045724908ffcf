import type { NatsConnection } from "@nats-io/nats-core";
import type { Contract, EventOf } from "@stockflow/contracts";
import type { Sql } from "postgres";
import { createOutbox } from "./outbox/outbox.js";
import { createOutboxRelay } from "./relay/relay.js";
import type { Database, Logger } from "./types.js";

/**
 * Creates `outbox` and `inbox` as a service's migrations create them from `./schema.ts`,
 * for tests of the kit and of tools that have no service migrations to run. Keep it in
 * step with schema.ts.
 */
export async function createMessagingTables(sql: Sql): Promise<void> {
  await sql.unsafe(`
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
  `);
}

/**
 * Another service, for tests of a consumer: publishes events as their producer would, through
 * the kit's own outbox and relay (CloudEvents headers, trace context, `Nats-Msg-Id`). Its
 * database needs the outbox table (a service's migrations, or createMessagingTables).
 */
export function eventPublisher(options: {
  database: { db: Database; sql: Sql };
  nc: NatsConnection;
  logger: Logger;
  /** The relay's name (advisory lock, metrics); default "test-publisher". */
  service?: string;
  pollIntervalMs?: number;
}) {
  const { database, nc, logger } = options;
  const relay = createOutboxRelay({
    service: options.service ?? "test-publisher",
    db: database.db,
    sql: database.sql,
    nc,
    logger,
    ...(options.pollIntervalMs !== undefined ? { pollIntervalMs: options.pollIntervalMs } : {}),
  });
  return {
    /** Publishes continuously from now on (else only `flush` does). */
    start: () => relay.start(),
    /** Writes the events, in this order, to the outbox of their producer, in one transaction. */
    async publish<C extends Contract>(contract: C, ...payloads: EventOf<C>[]): Promise<void> {
      const outbox = createOutbox({ service: contract.producer });
      await database.db.transaction(async (tx) => {
        for (const payload of payloads) await outbox.enqueue(tx, contract, payload);
      });
    },
    /** Publishes until nothing is pending. */
    flush: () => relay.flush(),
    stop: () => relay.stop(),
  };
}
