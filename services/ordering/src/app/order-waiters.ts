/** Why a wait ended: the order changed, its time is up, or the process is closing. */
export type WakeReason = "changed" | "timeout" | "released";

/** One request waiting for one order to change. */
export interface OrderWatch {
  /**
   * Resolves on the next change of the order after the previous call (a change while the
   * caller was reading is not lost), or when the time is up or the process closes.
   */
  next(): Promise<WakeReason>;
  /** Stops watching; always call it when done. */
  end(): void;
}

export interface OrderWaiters {
  /** Watches an order for up to `ms`; undefined when the cap is reached or the process is closing. */
  watch(orderId: string, ms: number): OrderWatch | undefined;
  /** Orders whose status changed in a commit (in this replica or another). */
  changed(orderIds: Iterable<string>): void;
  /** Wakes every waiter to look again: changes may have been missed (LISTEN reconnected). */
  changedAll(): void;
  /** Wakes every waiter with "released" and refuses new ones (the process is closing). */
  releaseAll(): void;
  /** Requests waiting now. */
  readonly size: number;
  /** releaseAll() was called: no request waits any more. */
  readonly closing: boolean;
}

interface Waiter {
  signalled: WakeReason | undefined;
  resolve: ((reason: WakeReason) => void) | undefined;
}

/**
 * The requests of this process that wait for orders, keyed by order id. At most `max` at a
 * time, so many slow storefronts cannot make the process hold unbounded memory or timers.
 */
export function createOrderWaiters({ max }: { max: number }): OrderWaiters {
  const byOrder = new Map<string, Set<Waiter>>();
  let size = 0;
  let closing = false;

  // "released" and "timeout" are final; a change only counts until one of them came.
  const signal = (waiter: Waiter, reason: WakeReason) => {
    if (waiter.signalled !== undefined && waiter.signalled !== "changed") return;
    const resolve = waiter.resolve;
    if (resolve) {
      waiter.resolve = undefined;
      resolve(reason);
    } else waiter.signalled = reason;
  };
  const forEachWaiter = (fn: (waiter: Waiter) => void) => {
    for (const waiters of byOrder.values()) for (const waiter of waiters) fn(waiter);
  };

  return {
    watch(orderId, ms) {
      if (closing || size >= max) return undefined;
      const waiter: Waiter = { signalled: undefined, resolve: undefined };
      const waiters = byOrder.get(orderId) ?? new Set<Waiter>();
      if (waiters.size === 0) byOrder.set(orderId, waiters);
      waiters.add(waiter);
      size++;
      const timer = setTimeout(() => signal(waiter, "timeout"), ms);
      let ended = false;
      return {
        next() {
          const reason = waiter.signalled;
          if (reason !== undefined) {
            if (reason === "changed") waiter.signalled = undefined;
            return Promise.resolve(reason);
          }
          return new Promise((resolve) => {
            waiter.resolve = resolve;
          });
        },
        end() {
          if (ended) return;
          ended = true;
          clearTimeout(timer);
          waiters.delete(waiter);
          if (waiters.size === 0 && byOrder.get(orderId) === waiters) byOrder.delete(orderId);
          size--;
        },
      };
    },
    changed(orderIds) {
      for (const orderId of orderIds) {
        const waiters = byOrder.get(orderId);
        if (waiters) for (const waiter of waiters) signal(waiter, "changed");
      }
    },
    changedAll() {
      forEachWaiter((waiter) => signal(waiter, "changed"));
    },
    releaseAll() {
      closing = true;
      forEachWaiter((waiter) => signal(waiter, "released"));
    },
    get size() {
      return size;
    },
    get closing() {
      return closing;
    },
  };
}
