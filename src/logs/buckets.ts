// The time buckets of the stats route: UTC-aligned minutes, hours or days
// covering [from, to). UTC has no daylight saving and a Date no leap second,
// so every bucket of an interval is the same number of milliseconds, and a
// boundary is a multiple of it since the epoch.

export const INTERVALS = ['minute', 'hour', 'day'] as const

export type Interval = typeof INTERVALS[number]

export const MAX_BUCKETS = 1500

const INTERVAL_MS: Record<Interval, number> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 }

/** The start of the bucket holding `time`. */
export function bucketStart (time: Date, interval: Interval): Date {
  const size = INTERVAL_MS[interval]
  return new Date(Math.floor(time.getTime() / size) * size)
}

/** How many buckets cover [from, to): the first starts at `from` truncated, the last holds the moment before `to`. */
export function bucketCount (from: Date, to: Date, interval: Interval): number {
  if (to <= from) return 0
  return Math.ceil((to.getTime() - bucketStart(from, interval).getTime()) / INTERVAL_MS[interval])
}

/** The start of every bucket covering [from, to), oldest first. */
export function bucketStarts (from: Date, to: Date, interval: Interval): Date[] {
  const first = bucketStart(from, interval).getTime()
  return Array.from({ length: bucketCount(from, to, interval) }, (_, index) => new Date(first + index * INTERVAL_MS[interval]))
}

/** The finest interval that covers [from, to) in at most MAX_BUCKETS buckets; undefined when even days are too many. */
export function finestFitting (from: Date, to: Date): Interval | undefined {
  return INTERVALS.find((interval) => bucketCount(from, to, interval) <= MAX_BUCKETS)
}

const UNITS: Array<[string, number]> = [['day', 86_400_000], ['hour', 3_600_000], ['minute', 60_000], ['second', 1000]]

/**
 * The span of [from, to) in words, for a message: in the largest unit that
 * holds it exactly to a tenth ("30 days", "25 hours", "1.5 minutes"), else in
 * the largest of which it is ten or more, rounded ("25 hours" for a
 * millisecond more), so that a rounding never hides most of it.
 */
export function describeSpan (from: Date, to: Date): string {
  const ms = to.getTime() - from.getTime()
  const [unit, size] = UNITS.find(([, size]) => ms >= size && ms % (size / 10) === 0) ??
    UNITS.find(([, size]) => ms >= 10 * size) ?? ['second', 1000]
  const amount = Math.round(ms / size * 10) / 10
  return `${amount.toLocaleString('en-US')} ${unit}${amount === 1 ? '' : 's'}`
}
