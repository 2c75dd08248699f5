// The stats answer as stacked bars: one series per value (the most frequent
// at the bottom), each holding the running total up to it, so that drawing
// the tallest first and each lower one over it shows every value's share.
import { colorFor, OTHER_COLOR } from './colors.ts'
import type { StatsAnswer } from './types.ts'

export interface Stack {
  label: string
  /** The value to filter by; undefined for "other". */
  value: string | undefined
  color: string
  total: number
  /** Per bucket: this value's count plus every value below it. */
  cumulative: number[]
}

export interface Stacks {
  /** Bucket starts, in seconds (uPlot's time unit). */
  times: number[]
  /** Bottom first. */
  stacks: Stack[]
  total: number
}

export function stacksOf (stats: StatsAnswer): Stacks {
  const totals = new Map<string | null, number>()
  for (const bucket of stats.buckets) {
    for (const { value, count } of bucket.counts) totals.set(value, (totals.get(value) ?? 0) + count)
  }
  const values = [...totals.entries()].sort((a, b) => b[1] - a[1]).map(([value]) => value)
  const running = stats.buckets.map(() => 0)
  const stacks: Stack[] = values.map((value, index) => {
    stats.buckets.forEach((bucket, at) => { running[at] = (running[at] ?? 0) + (bucket.counts.find((item) => item.value === value)?.count ?? 0) })
    return { label: value ?? '(none)', value: value ?? undefined, color: colorFor(value ?? '', index), total: totals.get(value) ?? 0, cumulative: [...running] }
  })
  // Without group_by, or past the ten values a bucket lists, the rest is one grey stack on top.
  const rest = stats.buckets.map((bucket) => bucket.total - bucket.counts.reduce((sum, item) => sum + item.count, 0))
  if (rest.some((count) => count > 0) || stacks.length === 0) {
    stacks.push({
      label: stacks.length === 0 ? 'logs' : 'other',
      value: undefined,
      color: stacks.length === 0 ? '#2563eb' : OTHER_COLOR,
      total: rest.reduce((sum, count) => sum + count, 0),
      cumulative: rest.map((count, at) => count + (running[at] ?? 0))
    })
  }
  return {
    times: stats.buckets.map((bucket) => Date.parse(bucket.start) / 1000),
    stacks,
    total: stats.buckets.reduce((sum, bucket) => sum + bucket.total, 0)
  }
}
