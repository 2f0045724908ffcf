/**
 * A set whose members are forgotten after `ttlMs` to twice that (two generations): the
 * relay's memory of what it published lately, bounded without a timer per id.
 */
export interface RecentIds {
  add(id: string): void;
  has(id: string): boolean;
  delete(id: string): void;
}

export function recentIds(ttlMs: number, now: () => number = () => performance.now()): RecentIds {
  let current = new Set<string>();
  let previous = new Set<string>();
  let rotatedAt = now();
  const rotate = () => {
    const t = now();
    if (t - rotatedAt < ttlMs) return;
    previous = t - rotatedAt < 2 * ttlMs ? current : new Set();
    current = new Set();
    rotatedAt = t;
  };
  return {
    add(id) {
      rotate();
      current.add(id);
    },
    has(id) {
      rotate();
      return current.has(id) || previous.has(id);
    },
    delete(id) {
      current.delete(id);
      previous.delete(id);
    },
  };
}
