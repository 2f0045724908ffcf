import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { allContracts, compareSchemas, lineAllocatedV1, orderPlacedV1 } from "../src/index.js";
import { planSnapshots, schemaSnapshot, snapshotFileName, snapshotText } from "../src/snapshots.js";

const dir = fileURLToPath(new URL("../snapshots/", import.meta.url));
const committed = new Map<string, object>(
  readdirSync(dir)
    .filter((file) => file.endsWith(".json"))
    .map((file) => [file.slice(0, -".json".length), JSON.parse(readFileSync(dir + file, "utf8"))]),
);

describe("the committed contract snapshots", () => {
  it.each(allContracts.map((c) => [c.subject, c] as const))(
    "%s has a snapshot and keeps compatible with it",
    (subject, contract) => {
      const snapshot = committed.get(subject);
      expect(snapshot, `no snapshot: run pnpm --filter @stockflow/contracts snapshot`).toBeDefined();
      const { breaking } = compareSchemas(snapshot!, schemaSnapshot(contract));
      expect(breaking, "breaking change to a published version: publish a new major instead").toEqual([]);
    },
  );

  it("keeps a deprecated version's snapshot as it was: deprecating changes no schema", () => {
    const file = readFileSync(dir + snapshotFileName(lineAllocatedV1.subject), "utf8");
    expect(snapshotText(lineAllocatedV1)).toBe(file);
  });

  it("has a contract for every snapshot, since removing a major version is breaking", () => {
    const subjects = new Set(allContracts.map((c) => c.subject));
    expect([...committed.keys()].filter((subject) => !subjects.has(subject))).toEqual([]);
  });
});

describe("planSnapshots", () => {
  const current = new Map(allContracts.map((c) => [c.subject, schemaSnapshot(c)]));

  it("leaves unchanged snapshots alone", () => {
    const plan = planSnapshots(allContracts, current);
    expect(plan.unchanged).toHaveLength(allContracts.length);
    expect(plan.write).toEqual([]);
  });

  it("writes the snapshot of a new contract", () => {
    const withoutOne = new Map(current);
    withoutOne.delete(orderPlacedV1.subject);
    expect(planSnapshots(allContracts, withoutOne).write).toEqual([orderPlacedV1.subject]);
  });

  it("rewrites a snapshot the contract changed additively", () => {
    const older = structuredClone(schemaSnapshot(orderPlacedV1)) as { properties: { orderId: object } };
    older.properties.orderId = { ...older.properties.orderId, maxLength: 100 };
    const plan = planSnapshots(allContracts, new Map(current).set(orderPlacedV1.subject, older));
    expect(plan.write).toEqual([orderPlacedV1.subject]);
    expect(plan.breaking).toEqual([]);
  });

  it("refuses a snapshot the contract breaks", () => {
    const newer = structuredClone(schemaSnapshot(orderPlacedV1)) as { properties: Record<string, unknown> };
    newer.properties.giftMessage = { type: "string" };
    const plan = planSnapshots(allContracts, new Map(current).set(orderPlacedV1.subject, newer));
    expect(plan.breaking).toEqual([
      { subject: orderPlacedV1.subject, reasons: ["giftMessage: field removed"] },
    ]);
    expect(plan.write).toEqual([]);
  });

  it("reports a snapshot whose contract is gone", () => {
    const plan = planSnapshots(allContracts, new Map(current).set("ordering.order_placed.v0", {}));
    expect(plan.orphans).toEqual(["ordering.order_placed.v0"]);
  });

  it("names snapshot files after the subject", () => {
    expect(snapshotFileName("ordering.order_placed.v1")).toBe("ordering.order_placed.v1.json");
  });
});
