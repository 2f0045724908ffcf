/** Percentile (nearest rank) of an unsorted list of numbers; undefined when empty. */
export function percentile(values, p) {
  if (values.length === 0) return undefined;
  return rankIn(Float64Array.from(values).sort(), p);
}

function rankIn(sorted, p) {
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

/**
 * p50/p95/p99/max in milliseconds, rounded to 0.1 ms, plus the sample count. Sorted once;
 * no spread of the values (a soak holds hundreds of thousands, past the call stack's limit).
 */
export function summary(values) {
  const r = (x) => (x === undefined ? null : Math.round(x * 10) / 10);
  const sorted = Float64Array.from(values).sort();
  return {
    n: values.length,
    p50: r(sorted.length ? rankIn(sorted, 50) : undefined),
    p95: r(sorted.length ? rankIn(sorted, 95) : undefined),
    p99: r(sorted.length ? rankIn(sorted, 99) : undefined),
    max: r(sorted.length ? sorted[sorted.length - 1] : undefined),
  };
}

export const round = (x, digits = 0) =>
  x === undefined || x === null || Number.isNaN(x) ? null : Math.round(x * 10 ** digits) / 10 ** digits;
