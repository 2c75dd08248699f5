// Percentiles by nearest rank: the p-th percentile of n timings is the
// ⌈p·n⌉-th smallest, a time that was measured (of 20, p95 is the 19th).
export function percentile (values: readonly number[], share: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  const value = sorted[Math.max(0, Math.ceil(share * sorted.length) - 1)]
  if (value === undefined) throw new Error('no values to take a percentile of')
  return value
}
