import { compareSchemas } from "./compatibility.js";
import type { Contract } from "./define.js";

/** The contract's JSON Schema as plain JSON (TypeBox's symbol keys dropped), as committed. */
export const schemaSnapshot = (contract: Contract): object => JSON.parse(JSON.stringify(contract.schema));

/** The text of a snapshot file: stable key order as TypeBox builds it, 2-space indent. */
export const snapshotText = (contract: Contract): string =>
  `${JSON.stringify(schemaSnapshot(contract), null, 2)}\n`;

export const snapshotFileName = (subject: string): string => `${subject}.json`;

export interface SnapshotPlan {
  /** Subjects whose snapshot is missing or differs without breaking: safe to (re)write. */
  readonly write: string[];
  readonly unchanged: string[];
  /** Subjects whose current contract breaks its committed snapshot, with the reasons. */
  readonly breaking: { subject: string; reasons: string[] }[];
  /** Snapshots without a contract: a removed major version. */
  readonly orphans: string[];
}

/**
 * Decides what the snapshot script may do, given the current contracts and the committed
 * snapshots (by subject). Breaking changes and orphans are refused unless forced.
 */
export function planSnapshots(
  contracts: readonly Contract[],
  committed: ReadonlyMap<string, object>,
): SnapshotPlan {
  const plan: SnapshotPlan = { write: [], unchanged: [], breaking: [], orphans: [] };
  for (const contract of contracts) {
    const previous = committed.get(contract.subject);
    if (previous === undefined) {
      plan.write.push(contract.subject);
      continue;
    }
    const current = schemaSnapshot(contract);
    if (JSON.stringify(previous) === JSON.stringify(current)) {
      plan.unchanged.push(contract.subject);
      continue;
    }
    const { breaking } = compareSchemas(previous, current);
    if (breaking.length > 0) plan.breaking.push({ subject: contract.subject, reasons: breaking });
    else plan.write.push(contract.subject);
  }
  const known = new Set(contracts.map((c) => c.subject));
  for (const subject of committed.keys()) if (!known.has(subject)) plan.orphans.push(subject);
  return plan;
}
