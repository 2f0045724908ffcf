import type { AllocationState, BackorderState, BatchState } from "./state.js";

/**
 * What one change did to the stored product, as the rows to write: netted per row, so a
 * line deallocated and placed again in the same change is one write, and a row added and
 * removed again is none. The repository writes it as it stands, without comparing anything.
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

/** Net writes to one kind of row, keyed by its identity within the product. */
export class RowChanges<T> {
  private readonly net = new Map<string, T | null>();

  constructor(private readonly stored: Set<string>) {}

  put(key: string, row: T): void {
    this.net.set(key, row);
  }

  remove(key: string): void {
    if (this.stored.has(key)) this.net.set(key, null);
    else this.net.delete(key);
  }

  isStored(key: string): boolean {
    return this.stored.has(key);
  }

  removed(): string[] {
    return [...this.net].filter(([, row]) => row === null).map(([key]) => key);
  }

  /** Rows added or changed, each paired with whether a row of its key is stored already. */
  written(): Array<{ row: T; stored: boolean }> {
    const out: Array<{ row: T; stored: boolean }> = [];
    for (const [key, row] of this.net) if (row !== null) out.push({ row, stored: this.stored.has(key) });
    return out;
  }
}
