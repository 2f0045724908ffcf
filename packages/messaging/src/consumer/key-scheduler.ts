/** Something waiting to run under a key, received at `at` (performance.now()). */
export interface Keyed {
  readonly key: string;
  readonly at: number;
}

export interface KeySchedulerOptions {
  /** Most items one batch takes. */
  batchSize: number;
  /** How long a batch smaller than batchSize may wait for more items (0: it starts at once). */
  lingerMs: number;
}

/**
 * Which received messages run next, and together: the consumer's per-key ordering. A batch
 * takes queued items in stream order whose keys no running batch holds, up to batchSize;
 * an item of a held key stays queued, and so does every later one of that key, so a key's
 * items run in stream order and never in two transactions at once. Pure: the consumer owns
 * the timers and the transactions.
 */
export class KeyScheduler<T extends Keyed> {
  private queue: T[] = [];
  /** Keys of the items in running batches. */
  private readonly held = new Set<string>();

  constructor(private readonly options: KeySchedulerOptions) {}

  get queued(): number {
    return this.queue.length;
  }

  push(item: T): void {
    this.queue.push(item);
  }

  /**
   * How long to wait before the next batch is due: 0 when one may start now (a full one, or
   * one whose oldest item waited lingerMs, or `draining`), undefined when nothing is queued.
   */
  waitMs(now: number, draining = false): number | undefined {
    const oldest = this.queue[0];
    if (!oldest) return undefined;
    const { lingerMs, batchSize } = this.options;
    if (lingerMs === 0 || draining || this.queue.length >= batchSize) return 0;
    return Math.max(0, oldest.at + lingerMs - now);
  }

  /** The next batch (possibly empty), its keys held until `release(batch)`. */
  take(): T[] {
    const batch: T[] = [];
    const rest: T[] = [];
    for (const item of this.queue) {
      if (batch.length < this.options.batchSize && !this.held.has(item.key)) batch.push(item);
      else rest.push(item);
    }
    this.queue = rest;
    for (const item of batch) this.held.add(item.key);
    return batch;
  }

  /** The batch has run: its keys may run again. */
  release(batch: readonly T[]): void {
    for (const item of batch) this.held.delete(item.key);
  }
}
