import type { AllocationState, BackorderState, BatchState, ProductState } from "../../domain/state.js";

/**
 * What one change did to a stored product, as the rows to write: the product as it was
 * loaded compared with the product after the change, row by row, so a line moved to another
 * batch is one write, and a row added and removed again within the change is none. The
 * repository writes it as it stands.
 */
export interface ProductChanges {
  readonly sku: string;
  /** The version the product had when it was loaded (0 when it is not stored yet). */
  readonly loadedVersion: number;
  readonly version: number;
  readonly batches: { readonly inserted: BatchState[]; readonly updated: BatchState[] };
  /** Allocations: `written` are new or replace a stored row of the same order line. */
  readonly allocations: { readonly removed: string[]; readonly written: AllocationState[] };
  readonly backorders: { readonly removed: string[]; readonly written: BackorderState[] };
}

/** Rows of one kind, before and after, by their identity within the product. */
function diff<T>(
  before: readonly T[],
  after: readonly T[],
  keyOf: (row: T) => string,
  same: (a: T, b: T) => boolean,
) {
  const old = new Map(before.map((row) => [keyOf(row), row]));
  const kept = new Set<string>();
  const inserted: T[] = [];
  const updated: T[] = [];
  for (const row of after) {
    const key = keyOf(row);
    kept.add(key);
    const was = old.get(key);
    if (!was) inserted.push({ ...row });
    else if (!same(was, row)) updated.push({ ...row });
  }
  const removed = [...old.keys()].filter((key) => !kept.has(key));
  return { inserted, updated, removed };
}

/** The rows to write to take the product from `loaded` to `now` (its snapshot after the change). */
export function changesOf(loaded: ProductState, now: ProductState): ProductChanges {
  const batches = diff(
    loaded.batches,
    now.batches,
    (b) => b.reference,
    (a, b) => a.qty === b.qty && a.eta === b.eta && a.allocated === b.allocated,
  );
  const allocations = diff(
    loaded.allocations,
    now.allocations,
    (a) => a.orderId,
    (a, b) => a.batchref === b.batchref && a.qty === b.qty && a.allocatedAt === b.allocatedAt,
  );
  const backorders = diff(
    loaded.backorders,
    now.backorders,
    (b) => b.orderId,
    (a, b) => a.qty === b.qty && a.since === b.since,
  );
  return {
    sku: now.sku,
    loadedVersion: loaded.version,
    version: now.version,
    batches: { inserted: batches.inserted, updated: batches.updated },
    allocations: { removed: allocations.removed, written: [...allocations.inserted, ...allocations.updated] },
    backorders: { removed: backorders.removed, written: [...backorders.inserted, ...backorders.updated] },
  };
}
