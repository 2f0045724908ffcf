import { describe, expect, it } from "vitest";
import {
  allContracts,
  type Contract,
  contractForSubject,
  filterCovers,
  lineAllocatedV1,
  lineAllocatedV2,
  parseSubject,
  publishedVersions,
  streams,
  subscriptions,
  validationErrors,
} from "../src/index.js";

// A valid payload of every contract; the test below fails when a contract has none.
const samples: Record<string, Record<string, unknown>> = {
  "ordering.order_placed.v1": {
    orderId: "ord-1",
    customerId: "cust-1",
    lines: [{ sku: "RED-CHAIR", qty: 2 }],
    placedAt: "2024-02-29T10:15:00.123Z",
  },
  "ordering.order_cancelled.v1": { orderId: "ord-1", cancelledAt: "2024-03-01T08:00:00+01:00" },
  "ordering.customer_became_vip.v1": { customerId: "cust-1", orderCount: 3 },
  "warehouse.batch_registered.v1": { reference: "b-1", sku: "RED-CHAIR", qty: 20, eta: null },
  "warehouse.batch_quantity_changed.v1": { reference: "b-1", sku: "RED-CHAIR", qty: 0, reason: "damaged" },
  "warehouse.shipment_delayed.v1": { reference: "b-2", sku: "RED-CHAIR", eta: "2024-12-31" },
  "allocation.line_allocated.v1": { orderId: "ord-1", sku: "RED-CHAIR", qty: 2, batchref: "b-1", version: 4 },
  "allocation.line_allocated.v2": {
    orderId: "ord-1",
    sku: "RED-CHAIR",
    qty: 2,
    batchref: "b-2",
    eta: "2024-12-31",
    version: 4,
  },
  "allocation.line_deallocated.v1": {
    orderId: "ord-1",
    sku: "RED-CHAIR",
    qty: 2,
    batchref: "b-1",
    reason: "order_cancelled",
    version: 5,
  },
  "allocation.out_of_stock.v1": { orderId: "ord-1", sku: "RED-CHAIR", qty: 2, version: 3 },
};

const sampleOf = (contract: Contract) => structuredClone(samples[contract.subject]!);
const each = allContracts.map((c) => [c.subject, c] as const);

describe("contract subjects and streams", () => {
  it.each(each)("%s is named <producer>.<event>.v<major>", (subject, contract) => {
    expect(subject).toMatch(/^(ordering|allocation|warehouse)\.[a-z]+(_[a-z]+)*\.v[1-9]\d*$/);
    expect(parseSubject(subject)).toEqual({
      producer: contract.producer,
      event: contract.event,
      major: contract.major,
    });
    expect(contractForSubject(subject)).toBe(contract);
  });

  it.each(each)("%s is stored in its producer's stream, whose subjects cover it", (subject, contract) => {
    const stream = streams[contract.stream as keyof typeof streams];
    expect(stream.name).toBe(contract.producer.toUpperCase());
    expect(stream.subjects.some((filter) => filterCovers(filter, subject))).toBe(true);
  });

  it("declares every subject once", () => {
    const subjects = allContracts.map((c) => c.subject);
    expect(new Set(subjects).size).toBe(subjects.length);
  });

  it("declares the four streams of the spec with a two-minute duplicate window", () => {
    expect(Object.keys(streams).sort()).toEqual(["ALLOCATION", "DLQ", "ORDERING", "WAREHOUSE"]);
    for (const stream of Object.values(streams)) {
      expect(stream).toMatchObject({ storage: "file", retention: "limits", duplicateWindowMs: 120_000 });
    }
    expect(streams.DLQ.subjects).toEqual(["dlq.>"]);
  });
});

describe("contract validators", () => {
  it.each(each)("%s accepts a valid payload", (_, contract) => {
    expect(samples[contract.subject], "add a sample payload for this contract").toBeDefined();
    expect(validationErrors(contract, sampleOf(contract))).toEqual([]);
  });

  it.each(each)("%s accepts unknown extra fields, so optional fields can be added later", (_, contract) => {
    expect(contract.validator.Check({ ...sampleOf(contract), addedLater: { any: "thing" } })).toBe(true);
  });

  it.each(each)("%s rejects a payload missing each required field", (_, contract) => {
    for (const field of contract.schema.required ?? []) {
      const payload = sampleOf(contract);
      delete payload[field];
      expect(contract.validator.Check(payload), `without ${field}`).toBe(false);
    }
  });

  it.each(each)("%s rejects a field of the wrong type", (_, contract) => {
    for (const field of Object.keys(sampleOf(contract))) {
      const payload = { ...sampleOf(contract), [field]: { wrong: true } };
      expect(contract.validator.Check(payload), `${field} as an object`).toBe(false);
    }
  });

  it("rejects a quantity of 0 where a quantity must be positive", () => {
    const bySubject = (subject: string) => contractForSubject(subject)!;
    const placed = bySubject("ordering.order_placed.v1");
    expect(placed.validator.Check({ ...sampleOf(placed), lines: [{ sku: "RED-CHAIR", qty: 0 }] })).toBe(
      false,
    );
    for (const subject of ["allocation.line_allocated.v1", "warehouse.batch_registered.v1"]) {
      const contract = bySubject(subject);
      expect(contract.validator.Check({ ...sampleOf(contract), qty: 0 }), subject).toBe(false);
    }
  });

  it("rejects fractional and non-numeric quantities", () => {
    const contract = contractForSubject("allocation.out_of_stock.v1")!;
    expect(contract.validator.Check({ ...sampleOf(contract), qty: 1.5 })).toBe(false);
    expect(contract.validator.Check({ ...sampleOf(contract), qty: "2" })).toBe(false);
  });

  it("rejects dates that are not on the calendar, like 2024-02-30", () => {
    const registered = contractForSubject("warehouse.batch_registered.v1")!;
    const delayed = contractForSubject("warehouse.shipment_delayed.v1")!;
    const placed = contractForSubject("ordering.order_placed.v1")!;
    for (const eta of ["2024-02-30", "2023-02-29", "2024-13-01", "24-01-01", "2024-1-1", ""]) {
      expect(registered.validator.Check({ ...sampleOf(registered), eta }), eta).toBe(false);
      expect(delayed.validator.Check({ ...sampleOf(delayed), eta }), eta).toBe(false);
    }
    expect(delayed.validator.Check({ ...sampleOf(delayed), eta: null })).toBe(false);
    expect(registered.validator.Check({ ...sampleOf(registered), eta: "2024-02-29" })).toBe(true);
    for (const placedAt of [
      "2024-02-30T10:00:00Z",
      "2024-02-01T24:00:00Z",
      "2024-02-01 10:00:00Z",
      "yesterday",
    ]) {
      expect(placed.validator.Check({ ...sampleOf(placed), placedAt }), placedAt).toBe(false);
    }
  });

  it("rejects a deallocation reason outside its list", () => {
    const contract = contractForSubject("allocation.line_deallocated.v1")!;
    expect(contract.validator.Check({ ...sampleOf(contract), reason: "whim" })).toBe(false);
  });

  it("rejects an order without lines or with more than 100", () => {
    const contract = contractForSubject("ordering.order_placed.v1")!;
    const line = { sku: "RED-CHAIR", qty: 1 };
    expect(contract.validator.Check({ ...sampleOf(contract), lines: [] })).toBe(false);
    expect(contract.validator.Check({ ...sampleOf(contract), lines: Array(101).fill(line) })).toBe(false);
  });

  it("explains why a payload is invalid", () => {
    const contract = contractForSubject("allocation.out_of_stock.v1")!;
    const errors = validationErrors(contract, { ...sampleOf(contract), qty: 0 });
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.join("\n")).toContain("/qty");
  });
});

describe("a deprecated major version", () => {
  it("marks allocation.line_allocated.v1 deprecated and superseded by v2, and nothing else", () => {
    expect(lineAllocatedV1.deprecated?.supersededBy).toBe(lineAllocatedV2);
    expect(allContracts.filter((c) => c.deprecated).map((c) => c.subject)).toEqual([
      "allocation.line_allocated.v1",
    ]);
  });

  it("requires the eta in v2, a calendar date or null for stock on hand", () => {
    const v2 = sampleOf(lineAllocatedV2);
    expect(lineAllocatedV2.schema.required).toContain("eta");
    expect(lineAllocatedV2.validator.Check({ ...v2, eta: null })).toBe(true);
    expect(lineAllocatedV2.validator.Check({ ...v2, eta: "2024-02-30" })).toBe(false);
  });

  it("publishes a v2 event as v2 and, downcast, as the v1 that validates", () => {
    const v2 = sampleOf(lineAllocatedV2);
    const versions = publishedVersions(lineAllocatedV2, v2);
    expect(versions.map((v) => v.contract.subject)).toEqual([
      "allocation.line_allocated.v2",
      "allocation.line_allocated.v1",
    ]);
    expect(versions[1]!.payload).toEqual({
      orderId: "ord-1",
      sku: "RED-CHAIR",
      qty: 2,
      batchref: "b-2",
      version: 4,
    });
    expect(validationErrors(lineAllocatedV1, versions[1]!.payload)).toEqual([]);
  });

  it("publishes an event of a contract nothing supersedes as itself alone", () => {
    const v1 = sampleOf(lineAllocatedV1);
    expect(publishedVersions(lineAllocatedV1, v1)).toEqual([{ contract: lineAllocatedV1, payload: v1 }]);
  });

  it("is read by no service together with the version superseding it", () => {
    for (const [service, read] of Object.entries(subscriptions)) {
      const both = read.filter((c) => c.deprecated && read.includes(c.deprecated.supersededBy));
      expect(both, service).toEqual([]);
    }
    expect(subscriptions.ordering).toContain(lineAllocatedV2);
    expect(subscriptions.warehouse).toContain(lineAllocatedV1);
  });
});
