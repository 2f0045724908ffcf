import { waitFor } from "@stockflow/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, streamMessages } from "./support/nats.js";
import { startOrdering } from "./support/service.js";

let ordering: Awaited<ReturnType<typeof startOrdering>>;

beforeAll(async () => {
  ordering = await startOrdering("ordering_broker_down");
});
afterAll(async () => {
  await ordering?.close();
});

describe("while NATS is down", () => {
  it("accepts orders and publishes their events once NATS is back", async () => {
    await ordering.nats.stop();
    const answers = await Promise.all(
      [1, 2, 3].map((i) =>
        ordering.app.inject({
          method: "POST",
          url: "/orders",
          payload: { customerId: `offline-${i}`, lines: [{ sku: "LAMP", qty: i }] },
        }),
      ),
    );
    expect(answers.map((a) => a.statusCode)).toEqual([202, 202, 202]);
    const orderIds = answers.map((a) => a.json().orderId);

    await ordering.nats.start();
    const nc = await connect(ordering.nats.url);
    try {
      const published = await waitFor(
        async () => {
          const ids = (await streamMessages(nc, "ORDERING")).map((m) => m.payload.orderId);
          return orderIds.every((id) => ids.includes(id)) && ids;
        },
        { timeoutMs: 20_000, message: "the orders' events after NATS came back" },
      );
      expect(published.filter((id) => orderIds.includes(id)).length).toBe(3);
    } finally {
      await nc.close();
    }
  });
});
