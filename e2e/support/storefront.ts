import { randomUUID } from "node:crypto";
import type { BatchInput, PlaceOrderInput } from "./api.js";
import { productHasBatches } from "./eventually.js";
import type { HttpResult } from "./http.js";
import type { Stack } from "./stack.js";

// Storefront clients as a shop runs them: several at once, each placing orders one after
// another and cancelling some of them right away, retrying a 503 as the contract allows
// (POST /orders with its Idempotency-Key, so a retry never makes a second order).

export interface StorefrontLoad {
  /** Orders answered 202. */
  accepted: string[];
  /** Orders whose cancellation was answered 202. */
  cancelled: string[];
  /** 503s answered and retried. */
  retried503: number;
  /** Anything else that is not a success: a status, or a connection error. */
  failures: string[];
}

export interface StorefrontOptions {
  /** Orders to try at least; */
  orders: number;
  /** ... and more while this answers true (e.g. until a fault schedule is done). */
  keepGoing?: () => boolean;
  clients: number;
  orderOf: (i: number) => PlaceOrderInput;
  /** Pause of each client between two orders (default none). */
  paceMs?: number;
  /** Whether order i is cancelled as soon as it is accepted. */
  cancels?: (i: number) => boolean;
  /** Called after each accepted order with how many have been accepted so far. */
  onAccepted?: (accepted: number) => void | Promise<void>;
}

const RETRIES = 100;
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Sends `call` until it answers anything but 503 (pacing by Retry-After, capped at 200 ms),
 * counting the retries in `load`.
 */
export async function retrying503<T>(
  load: Pick<StorefrontLoad, "retried503">,
  call: () => Promise<HttpResult<T>>,
) {
  for (let attempt = 0; ; attempt++) {
    const res = await call();
    if (res.status !== 503 || attempt >= RETRIES) return res;
    load.retried503++;
    // Pacing a client's retry, as Retry-After asks; not a wait for a condition.
    await pause(Math.min(200, Number(res.headers.get("retry-after") ?? 0) * 1000 || 50));
  }
}

/** Runs the clients until `orders` orders have been tried; never throws on a failed request. */
export async function runStorefront(stack: Stack, options: StorefrontOptions): Promise<StorefrontLoad> {
  const load: StorefrontLoad = { accepted: [], cancelled: [], retried503: 0, failures: [] };
  let next = 0;
  const more = () => next < options.orders || (options.keepGoing?.() ?? false);
  const client = async () => {
    while (more()) {
      await order(next++);
      // Pacing the client, not waiting for a condition.
      if (options.paceMs) await pause(options.paceMs);
    }
  };
  const order = async (i: number) => {
    try {
      const key = randomUUID();
      const placed = await retrying503(load, () =>
        stack.api.placeOrder(options.orderOf(i), { "idempotency-key": key }),
      );
      if (placed.status !== 202) {
        load.failures.push(`order ${i}: ${placed.status} ${JSON.stringify(placed.body)}`);
        return;
      }
      const { orderId } = placed.body;
      load.accepted.push(orderId);
      await options.onAccepted?.(load.accepted.length);
      if (!options.cancels?.(i)) return;
      const cancelled = await retrying503(load, () => stack.api.cancelOrder(orderId));
      if (cancelled.status === 202) load.cancelled.push(orderId);
      else load.failures.push(`cancel ${orderId}: ${cancelled.status} ${JSON.stringify(cancelled.body)}`);
    } catch (err) {
      load.failures.push(`order ${i}: ${String((err as Error).cause ?? err)}`);
    }
  };
  await Promise.all(Array.from({ length: options.clients }, client));
  return load;
}

/**
 * Staff register a stock-on-hand batch and a shipment (`eta`) for each SKU; resolves once
 * allocation knows them all. Throws on any answer but 201.
 */
export async function stockUp(
  stack: Stack,
  skus: readonly string[],
  { stock, shipment, eta }: { stock: number; shipment: number; eta: string },
): Promise<void> {
  for (const sku of skus) {
    const batches: BatchInput[] = [
      { reference: `${sku}-stock`, sku, qty: stock, eta: null },
      { reference: `${sku}-ship`, sku, qty: shipment, eta },
    ];
    for (const batch of batches) {
      const res = await stack.api.registerBatch(batch);
      if (res.status !== 201) throw new Error(`registering ${batch.reference}: ${res.status}`);
    }
  }
  for (const sku of skus) await productHasBatches(stack, sku, [`${sku}-stock`, `${sku}-ship`]);
}
