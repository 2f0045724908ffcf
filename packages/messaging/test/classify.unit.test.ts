import { orderCancelledV1, orderPlacedV1 } from "@stockflow/contracts";
import { describe, expect, it } from "vitest";
import { classifier, messageIdOf } from "../src/consumer/classify.js";
import { handle } from "../src/consumer/handlers.js";

const bytes = (value: unknown) =>
  new TextEncoder().encode(typeof value === "string" ? value : JSON.stringify(value));
const placed = {
  orderId: "o-1",
  customerId: "c-1",
  lines: [{ sku: "LAMP", qty: 1 }],
  placedAt: "2030-01-01T00:00:00Z",
};
const placing = handle(orderPlacedV1, async () => {});
const classify = classifier([placing]);

describe("classifying a message", () => {
  it("hands a valid event of a handled contract to its handler", () => {
    const verdict = classify(orderPlacedV1.subject, bytes(placed));
    expect(verdict).toMatchObject({
      kind: "handle",
      handler: placing,
      contract: orderPlacedV1,
      event: placed,
    });
  });

  it("dead-letters a body that is not JSON, and one that breaks its contract, with the reason", () => {
    expect(classify(orderPlacedV1.subject, bytes("{nope"))).toMatchObject({
      kind: "dead",
      reason: "invalid_json",
    });
    expect(classify(orderPlacedV1.subject, bytes({ orderId: "o-1" }))).toMatchObject({
      kind: "dead",
      reason: "schema_violation",
    });
  });

  it("dead-letters an unknown version of a handled event, and skips what is not ours", () => {
    expect(classify("ordering.order_placed.v9", bytes(placed))).toMatchObject({
      kind: "dead",
      reason: "unknown_version",
    });
    expect(classify(orderCancelledV1.subject, bytes({}))).toEqual({ kind: "skip" });
    expect(classify("ordering.something_else.v1", bytes({}))).toEqual({ kind: "skip" });
  });
});

describe("a message's inbox key", () => {
  const headers = (entries: Record<string, string>) => ({ get: (k: string) => entries[k] ?? "" });
  const info = { stream: "ORDERING" };

  it("is its ce-id, else its Nats-Msg-Id, else its stream position", () => {
    const msg = (h: Record<string, string>) => ({ headers: headers(h), seq: 7, info }) as never;
    expect(messageIdOf(msg({ "ce-id": "e-1", "Nats-Msg-Id": "m-1" }))).toBe("e-1");
    expect(messageIdOf(msg({ "Nats-Msg-Id": "m-1" }))).toBe("m-1");
    expect(messageIdOf(msg({}))).toBe("ORDERING:7");
  });
});
