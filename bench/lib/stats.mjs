/** Percentile (nearest rank) of an unsorted list of numbers; undefined when empty. */
export function percentile(values, p) {
  if (values.length === 0) return undefined;
  const sorted = Float64Array.from(values).sort();
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

/** p50/p95/p99/max in milliseconds, rounded to 0.1 ms, plus the sample count. */
export function summary(values) {
  const r = (x) => (x === undefined ? null : Math.round(x * 10) / 10);
  return {
    n: values.length,
    p50: r(percentile(values, 50)),
    p95: r(percentile(values, 95)),
    p99: r(percentile(values, 99)),
    max: r(values.length ? Math.max(...values) : undefined),
  };
}

export const round = (x, digits = 0) =>
  x === undefined || x === null || Number.isNaN(x) ? null : Math.round(x * 10 ** digits) / 10 ** digits;
