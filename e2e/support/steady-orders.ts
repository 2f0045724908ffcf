import type { PlaceOrderInput } from "./api.js";
import type { Stack } from "./stack.js";

export interface SteadyOrders {
  /** Order ids answered 202. */
  readonly accepted: readonly string[];
  /** Requests not answered 202 (status or connection error). */
  readonly refused: readonly { status?: number; error?: string }[];
  /** When each accepted order was seen no longer pending, in time order (Date.now()). */
  readonly answeredAt: readonly number[];
  /** How many orders placed at or after `since` have been answered. */
  answeredSince(since: number): number;
  /** Stops placing and waits for the clients' orders in hand to be answered. */
  stop(): Promise<void>;
  /** The longest time between two answers (or from `from` to the first one) within [from, to]. */
  longestGapMs(from: number, to: number): number;
}

/**
 * Storefront clients that each place an order, wait until it is no longer pending (GET with
 * `?wait=`), then place the next: load that follows the system's pace, and a record of when
 * orders were answered, to measure how long none was during a fault.
 */
export function steadyOrders(
  stack: Stack,
  orderOf: (i: number) => PlaceOrderInput,
  {
    clients = 4,
    headersOf = () => ({}),
  }: { clients?: number; headersOf?: (i: number) => Record<string, string> } = {},
): SteadyOrders {
  const accepted: string[] = [];
  const refused: { status?: number; error?: string }[] = [];
  const answeredAt: number[] = [];
  const answers: { placedAt: number; answeredAt: number }[] = [];
  let stopping = false;
  let next = 0;

  /** False when it stays pending for two minutes (the invariants then say which). */
  async function waitAnswered(orderId: string): Promise<boolean> {
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline) {
      try {
        // Through the replicas in rotation: one crashed in a fault is out, the others answer.
        const url = stack.replicas.ordering.nextUrl();
        const res = await fetch(`${url}/orders/${encodeURIComponent(orderId)}?wait=5000`);
        const body = (await res.json()) as { status?: string };
        if (res.status === 200 && body.status !== "pending") return true;
      } catch {
        // ordering is restarting or overloaded: ask again
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    return false;
  }

  async function client(): Promise<void> {
    while (!stopping) {
      const placedAt = Date.now();
      try {
        const i = next++;
        const res = await stack.api.placeOrder(orderOf(i), headersOf(i));
        if (res.status !== 202) {
          refused.push({ status: res.status });
          await pause();
          continue;
        }
        accepted.push(res.body.orderId);
        if (!(await waitAnswered(res.body.orderId))) continue;
        const at = Date.now();
        answeredAt.push(at);
        answers.push({ placedAt, answeredAt: at });
      } catch (err) {
        refused.push({ error: String((err as Error).cause ?? err) });
        await pause();
      }
    }
  }

  // A refused client waits a little, as a storefront would, instead of spinning.
  const pause = () => new Promise((r) => setTimeout(r, 100));
  const running = Array.from({ length: clients }, client);
  return {
    accepted,
    refused,
    answeredAt,
    answeredSince: (since) => answers.filter((a) => a.placedAt >= since).length,
    async stop() {
      stopping = true;
      await Promise.all(running);
    },
    longestGapMs(from, to) {
      let last = from;
      let longest = 0;
      for (const at of [...answeredAt].sort((a, b) => a - b)) {
        if (at < from) continue;
        if (at > to) break;
        longest = Math.max(longest, at - last);
        last = at;
      }
      return Math.max(longest, to - last);
    },
  };
}
