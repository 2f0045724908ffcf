import { waitFor } from "@stockflow/testkit";
import type { Dispatch, Order, Product } from "./api.js";
import type { Stack } from "./stack.js";

/** Default patience for something that crosses the bus: generous, the machine is shared. */
export const FLOW_TIMEOUT_MS = 30_000;

/**
 * Polls `probe` until it returns a value; on timeout the error carries the probe's last
 * complaint and the services' recent output, so a failing flow says where it stopped.
 */
export async function eventually<T>(
  stack: Stack,
  what: string,
  probe: () => Promise<T | undefined | null | false>,
  timeoutMs = FLOW_TIMEOUT_MS,
): Promise<Exclude<T, undefined | null | false>> {
  try {
    return await waitFor(probe, { timeoutMs, intervalMs: 100, message: what });
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${stack.logs()}`, { cause: err });
  }
}

/** Waits until GET /orders/:id answers an order that `accept`s. */
export function orderReaches(
  stack: Stack,
  orderId: string,
  what: string,
  accept: (order: Order) => boolean,
): Promise<Order> {
  return eventually(stack, `order ${orderId} ${what}`, async () => {
    const res = await stack.api.getOrder(orderId);
    if (res.status === 200 && accept(res.body)) return res.body;
    throw new Error(`last answer ${res.status} ${JSON.stringify(res.body)}`);
  });
}

/** Waits until GET /orders/:id has the given status. */
export const orderStatusIs = (stack: Stack, orderId: string, status: Order["status"]) =>
  orderReaches(stack, orderId, `to be ${status}`, (o) => o.status === status);

/** Waits until allocation's GET /products/:sku answers a product that `accept`s. */
export function productReaches(
  stack: Stack,
  sku: string,
  what: string,
  accept: (product: Product) => boolean,
): Promise<Product> {
  return eventually(stack, `product ${sku} ${what}`, async () => {
    const res = await stack.api.getProduct(sku);
    if (res.status === 200 && accept(res.body)) return res.body;
    throw new Error(`last answer ${res.status} ${JSON.stringify(res.body)}`);
  });
}

/** Waits until allocation knows every one of these batch references. */
export const productHasBatches = (stack: Stack, sku: string, references: string[]) =>
  productReaches(stack, sku, `to have batches ${references.join(", ")}`, (p) =>
    references.every((ref) => p.batches.some((b) => b.reference === ref)),
  );

/** Waits until warehouse's GET /dispatches?orderId= answers a list that `accept`s. */
export function dispatchesReach(
  stack: Stack,
  orderId: string,
  what: string,
  accept: (dispatches: Dispatch[]) => boolean,
): Promise<Dispatch[]> {
  return eventually(stack, `dispatches of ${orderId} ${what}`, async () => {
    const res = await stack.api.getDispatches(orderId);
    if (res.status === 200 && accept(res.body)) return res.body;
    throw new Error(`last answer ${res.status} ${JSON.stringify(res.body)}`);
  });
}
