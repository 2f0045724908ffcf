import type { Logger } from "@stockflow/telemetry";
import type { Sql } from "postgres";

/** The channel of the trigger in drizzle/0001_order_change_notify.sql: order ids, space separated. */
export const ORDER_CHANGED_CHANNEL = "ordering_order_changed";

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
 * Resolves once listening, so a request that waits after this cannot miss a commit.
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
