import { randomUUID } from "node:crypto";
import { jetstream } from "@nats-io/jetstream";
import { type NatsConnection, headers as natsHeaders } from "@nats-io/transport-node";
import type { PlaceOrderInput } from "./api.js";
import type { BusEvent } from "./bus.js";
import type { Stack } from "./stack.js";

/** Runs `task(0..count-1)` with at most `concurrency` at once; resolves when all have settled. */
export async function inParallel(
  count: number,
  concurrency: number,
  task: (i: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}

export interface OrderLoad {
  /** Order ids answered 202, in the order the answers came. */
  accepted: string[];
  /** Requests answered otherwise, or that failed on the connection (never accepted). */
  refused: { index: number; status?: number; error?: string }[];
}

/**
 * Places `count` orders through the storefront, `concurrency` at a time. A request that
 * fails is recorded, not thrown: fault tests decide what a refusal means.
 */
export async function placeOrders(
  stack: Stack,
  count: number,
  orderOf: (i: number) => PlaceOrderInput,
  { concurrency = 8 }: { concurrency?: number } = {},
): Promise<OrderLoad> {
  const load: OrderLoad = { accepted: [], refused: [] };
  await inParallel(count, concurrency, async (index) => {
    try {
      const res = await stack.api.placeOrder(orderOf(index));
      if (res.status === 202) load.accepted.push(res.body.orderId);
      else load.refused.push({ index, status: res.status });
    } catch (err) {
      load.refused.push({ index, error: String((err as Error).cause ?? err) });
    }
  });
  return load;
}

/**
 * Publishes a raw message to JetStream as another producer would: `body` as given (a string
 * is sent as is, so it can be invalid JSON), CloudEvents headers around it.
 */
export async function publishRaw(
  nc: NatsConnection,
  subject: string,
  body: string | Record<string, unknown>,
  { ceId = randomUUID(), msgId = ceId }: { ceId?: string; msgId?: string } = {},
): Promise<{ ceId: string; seq: number }> {
  const h = natsHeaders();
  h.set("ce-specversion", "1.0");
  h.set("ce-id", ceId);
  h.set("ce-source", "/e2e-faults");
  h.set("ce-type", subject);
  h.set("ce-time", new Date().toISOString());
  h.set("content-type", "application/json");
  const data = typeof body === "string" ? body : JSON.stringify(body);
  const ack = await jetstream(nc).publish(subject, data, { headers: h, msgID: msgId });
  return { ceId, seq: ack.seq };
}

/**
 * Publishes a stored event again with all its headers (same `ce-id`, same `traceparent`)
 * but a fresh `Nats-Msg-Id`, so the broker keeps it: a redelivery the inbox must absorb.
 */
export async function republish(nc: NatsConnection, event: BusEvent): Promise<number> {
  const h = natsHeaders();
  for (const [key, value] of Object.entries(event.headers)) {
    if (key !== "nats-msg-id") h.set(key, value);
  }
  const ack = await jetstream(nc).publish(event.subject, JSON.stringify(event.payload), {
    headers: h,
    msgID: randomUUID(),
  });
  return ack.seq;
}
