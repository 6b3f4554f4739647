/** p-th percentile (0..100) of a list of numbers. */
export function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

/** Median of `runs` calls of an async measurement. */
export async function medianOf(runs, measure) {
  const values = [];
  for (let i = 0; i < runs; i++) values.push(await measure());
  return percentile(values, 50);
}

export const MiB = 1024 * 1024;
