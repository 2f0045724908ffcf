import type { Sql } from "postgres";

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
    create index outbox_published_idx on outbox (published_at) where published_at is not null;
    create table inbox (
      consumer text not null,
      message_id text not null,
      subject text not null,
      processed_at timestamptz not null default now(),
      primary key (consumer, message_id)
    );
    create index inbox_processed_idx on inbox (processed_at);
  `);
}
