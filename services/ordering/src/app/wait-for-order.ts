import type { OrderWaiters } from "./order-waiters.js";
import type { OrderView } from "./queries.js";

export interface WaitOutcome {
  order: OrderView;
  /** The cap on waiting requests was reached: the order as it is now, without waiting. */
  refused: boolean;
}

/**
 * The order once it is no longer `pending`, or as it is when `ms` is up (or the process
 * closes), whichever comes first. The order is read when the wait starts and again only
 * when a commit changed it: the watch is set before the first read, so a commit between
 * that read and the watch cannot be missed.
 */
export async function waitForOrder(
  read: (orderId: string) => Promise<OrderView>,
  waiters: OrderWaiters,
  orderId: string,
  ms: number,
): Promise<WaitOutcome> {
  const watch = ms > 0 ? waiters.watch(orderId, ms) : undefined;
  try {
    let order = await read(orderId);
    if (order.status !== "pending" || ms === 0) return { order, refused: false };
    if (!watch) return { order, refused: !waiters.closing };
    for (;;) {
      const reason = await watch.next();
      order = await read(orderId);
      if (order.status !== "pending" || reason !== "changed") return { order, refused: false };
    }
  } finally {
    watch?.end();
  }
}
