import type { Logger } from "@stockflow/telemetry";
import postgres, { type Sql } from "postgres";

/** The channel on which every replica announces the orders its commits changed: ids, space separated. */
export const ORDER_CHANGED_CHANNEL = "ordering_order_changed";

// Order ids are UUIDs; 30 of the longest ids the API takes (200) stay within the 8000-byte
// payload limit.
const IDS_PER_NOTIFICATION = 30;

export interface OrderChangeListener {
  /** Orders whose line status changed in a committed transaction. */
  changed(orderIds: string[]): void;
  /** LISTEN was set up again after the connection dropped: notifications may have been missed. */
  resubscribed(): void;
}

export interface OrderChangeFeed {
  stop(): Promise<void>;
}

/**
 * LISTENs for committed order changes, on the raw client's one LISTEN connection (which
 * postgres-js opens again and re-LISTENs after a drop), and hands them to `listener`.
 * Resolves once listening, so a request that waits after this cannot miss an announcement.
 */
export async function listenForOrderChanges(
  sql: Sql,
  listener: OrderChangeListener,
  logger: Logger,
): Promise<OrderChangeFeed> {
  let listening = false;
  const subscription = await sql.listen(
    ORDER_CHANGED_CHANNEL,
    (payload) => listener.changed(payload.split(" ")),
    () => {
      if (listening) {
        logger.info("LISTEN for order changes set up again: waiting requests look again");
        listener.resubscribed();
      }
      listening = true;
    },
  );
  return {
    async stop() {
      await subscription.unlisten().catch((err: unknown) => logger.warn({ err }, "UNLISTEN failed"));
    },
  };
}

export interface OrderChangeAnnouncer {
  /** Tells every replica (this one included) that these orders changed; call once their transaction committed. */
  announce(orderIds: readonly string[]): void;
  close(): Promise<void>;
}

/**
 * Announces committed order changes on a connection of its own: on the raw client's pool
 * (2 connections) they queued behind the outbox relay, which holds one through its JetStream
 * publishes, and a waiting request answered seconds late under load.
 *
 * The NOTIFY goes in a transaction of its own with synchronous_commit off: PostgreSQL
 * serializes the commits of notifying transactions (one lock for the whole server, held
 * through the commit's WAL flush), so a NOTIFY inside the consumer's transaction capped four
 * writers at ~185 commits/s where they made ~650 without one (measured on this machine); a
 * notify-only commit holds it for no flush. Losing the announcement (a crash right after the
 * commit) costs a waiting request its early answer: it reads the order when its time is up.
 */
export function orderChangeAnnouncer(url: string, logger: Logger): OrderChangeAnnouncer {
  const sql = postgres(url, {
    max: 1,
    connect_timeout: 10,
    backoff: (retries: number) => Math.min(0.1 * 2 ** retries, 2),
    onnotice: () => {},
    connection: { application_name: "ordering" },
  });
  let failures = 0;
  return {
    announce(orderIds) {
      for (let i = 0; i < orderIds.length; i += IDS_PER_NOTIFICATION) {
        const payload = orderIds.slice(i, i + IDS_PER_NOTIFICATION).join(" ");
        sql`select set_config('synchronous_commit', 'off', true), pg_notify(${ORDER_CHANGED_CHANNEL}, ${payload})`.then(
          () => {
            failures = 0;
          },
          (err: unknown) => {
            // Once per outage, not once per commit.
            if (failures++ === 0)
              logger.warn({ err }, "announcing order changes failed: waiting requests answer late");
          },
        );
      }
    },
    close: () => sql.end({ timeout: 5 }),
  };
}
