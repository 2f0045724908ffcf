import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, productHasBatches } from "../../support/eventually.js";
import { assertInvariants, type ExpectedDeadLetter } from "../../support/invariants.js";
import { placeOrders, publishRaw } from "../../support/load.js";
import { repoRoot, type Stack, startStack } from "../../support/stack.js";

// Reliability scenario 5: poison messages in the middle of real traffic. Each ends in the
// DLQ with headers saying why, the consumers go on with the messages behind it, and the
// operators' CLI lists the dead letters and replays one.
//
// The handler that always throws: a `batch_registered` naming a batch reference the
// warehouse already registered for another SKU. The contract allows it (another producer,
// or a warehouse bug, could send it); allocation's handler fails on it every time (the batch
// reference is its primary key), so it is retried with backoff and dead-lettered after
// its five deliveries (about 18 s).

const SKU = "PO-SOFA";
const CLI = join(repoRoot, "tools", "cli", "dist", "main.js");
const run = promisify(execFile);

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ label: "f_poison" });
});

afterAll(async () => {
  await stack?.dispose();
});

const cli = (...args: string[]) =>
  run(process.execPath, [CLI, ...args], {
    env: { ...process.env, NATS_URL: stack.nats.url },
    timeout: 20_000,
  });

interface DeadLetterJson {
  seq: number;
  subject: string;
  reason: string;
  error: string;
  consumer: string;
  originalSubject: string;
  originalStream: string;
  originalSequence: number;
  deliveryCount: number;
  ceId: string;
}

const placedAt = () => new Date().toISOString();
const orderOf = (i: number) => ({
  customerId: `po-customer-${i % 25}`,
  lines: [{ sku: SKU, qty: 1 + (i % 2) }],
});

describe("poison messages", () => {
  it("dead-letters each poison message with its reason and keeps processing the messages behind it", async () => {
    expect(
      (await stack.api.registerBatch({ reference: "po-stock", sku: SKU, qty: 250, eta: null })).status,
    ).toBe(201);
    await productHasBatches(stack, SKU, ["po-stock"]);

    const first = await placeOrders(stack, 100, orderOf);
    const poison = {
      badJson: await publishRaw(
        stack.natsConnection,
        "ordering.order_placed.v1",
        '{"orderId": "po-1", "lines": [',
      ),
      schema: await publishRaw(stack.natsConnection, "ordering.order_placed.v1", {
        orderId: "po-2",
        customerId: "po-customer",
        lines: [{ sku: SKU, qty: 0 }],
        placedAt: placedAt(),
      }),
      unknownVersion: await publishRaw(stack.natsConnection, "ordering.order_placed.v9", {
        orderId: "po-3",
        customerId: "po-customer",
        lines: [{ sku: SKU, qty: 1 }],
        placedAt: placedAt(),
      }),
      alwaysThrows: await publishRaw(stack.natsConnection, "warehouse.batch_registered.v1", {
        reference: "po-stock",
        sku: "PO-NOT-THE-SOFA",
        qty: 5,
        eta: null,
      }),
      badJsonForTwo: await publishRaw(
        stack.natsConnection,
        "allocation.line_deallocated.v1",
        "not json at all",
      ),
    };
    const second = await placeOrders(stack, 100, (i) => orderOf(i + 100));
    // Stock news behind the throwing message on the same consumer is processed too.
    expect(
      (await stack.api.registerBatch({ reference: "po-more", sku: SKU, qty: 10, eta: null })).status,
    ).toBe(201);
    expect([...first.refused, ...second.refused]).toEqual([]);

    const expected: ExpectedDeadLetter[] = [
      { subject: "dlq.allocation.ordering.order_placed.v1", reason: "invalid_json" },
      { subject: "dlq.allocation.ordering.order_placed.v1", reason: "schema_violation" },
      { subject: "dlq.allocation.ordering.order_placed.v9", reason: "unknown_version" },
      { subject: "dlq.allocation.warehouse.batch_registered.v1", reason: "max_deliveries" },
      { subject: "dlq.ordering.allocation.line_deallocated.v1", reason: "invalid_json" },
      { subject: "dlq.warehouse.allocation.line_deallocated.v1", reason: "invalid_json" },
    ];
    const accepted = [...first.accepted, ...second.accepted];
    await assertInvariants(stack, { acceptedOrderIds: accepted, expectedDeadLetters: expected });
    await productHasBatches(stack, SKU, ["po-stock", "po-more"]);

    // The dead letters keep the original body and headers and say why, where from, how often.
    const dead = await stack.readStream("DLQ");
    const letterOf = (ceId: string, subject: string) => {
      const letter = dead.find((d) => d.headers["ce-id"] === ceId && d.subject === subject);
      if (!letter) throw new Error(`no dead letter for ${ceId} on ${subject}`);
      return letter;
    };
    const cases = [
      [poison.badJson, "dlq.allocation.ordering.order_placed.v1", "invalid_json", "ORDERING", "1"],
      [poison.schema, "dlq.allocation.ordering.order_placed.v1", "schema_violation", "ORDERING", "1"],
      [poison.unknownVersion, "dlq.allocation.ordering.order_placed.v9", "unknown_version", "ORDERING", "1"],
      [
        poison.alwaysThrows,
        "dlq.allocation.warehouse.batch_registered.v1",
        "max_deliveries",
        "WAREHOUSE",
        "5",
      ],
      [
        poison.badJsonForTwo,
        "dlq.ordering.allocation.line_deallocated.v1",
        "invalid_json",
        "ALLOCATION",
        "1",
      ],
      [
        poison.badJsonForTwo,
        "dlq.warehouse.allocation.line_deallocated.v1",
        "invalid_json",
        "ALLOCATION",
        "1",
      ],
    ] as const;
    for (const [sent, subject, reason, stream, deliveries] of cases) {
      const letter = letterOf(sent.ceId, subject);
      expect(letter.headers, subject).toMatchObject({
        "dlq-reason": reason,
        "dlq-original-subject": subject.split(".").slice(2).join("."),
        "dlq-original-stream": stream,
        "dlq-stream-sequence": String(sent.seq),
        "dlq-delivery-count": deliveries,
        "ce-source": "/e2e-faults",
      });
      expect(letter.headers["dlq-error"]?.length, subject).toBeGreaterThan(0);
    }
    expect(letterOf(poison.schema.ceId, expected[1]!.subject).payload).toMatchObject({ orderId: "po-2" });

    // The operators' view of the same.
    const listed = JSON.parse((await cli("dlq", "list", "--json")).stdout) as DeadLetterJson[];
    expect(listed.map((d) => `${d.subject} ${d.reason}`).sort()).toEqual(
      expected.map((d) => `${d.subject} ${d.reason}`).sort(),
    );
    const badJson = listed.find((d) => d.ceId === poison.badJson.ceId);
    expect(badJson).toMatchObject({
      originalSubject: "ordering.order_placed.v1",
      originalStream: "ORDERING",
      originalSequence: poison.badJson.seq,
      deliveryCount: 1,
      consumer: "allocation-ordering",
    });

    // Replay puts it back on its subject with its ce-id under a fresh Nats-Msg-Id; it is
    // still poison, so allocation dead-letters it again under a new DLQ sequence.
    await cli("dlq", "replay", String(badJson!.seq));
    const replayed = await eventually(stack, "the replayed message on ORDERING", async () =>
      (await stack.readStream("ORDERING")).find(
        (e) => e.headers["ce-id"] === poison.badJson.ceId && e.seq !== poison.badJson.seq,
      ),
    );
    expect(replayed.subject).toBe("ordering.order_placed.v1");
    expect(replayed.headers["nats-msg-id"]).not.toBe(poison.badJson.ceId);
    const again = await eventually(stack, "the replayed message dead-lettered again", async () =>
      (await stack.readStream("DLQ")).find((d) => d.headers["ce-id"] === poison.badJson.ceId),
    );
    expect(again.seq).not.toBe(badJson!.seq);
    expect(again.headers["dlq-stream-sequence"]).toBe(String(replayed.seq));
    await assertInvariants(stack, { acceptedOrderIds: accepted, expectedDeadLetters: expected });
  });
});
