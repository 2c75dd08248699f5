// The days a usage report covers, for the HTTP route and the CLI alike: to
// defaults to today (UTC), from to 30 days back, a year at most.
import { utcDay } from './recorder.ts'

export const DEFAULT_DAYS = 30
export const MAX_DAYS = 366
/** PostgreSQL has no year 0 (1 BC comes before AD 1), though the date format allows it. */
export const FIRST_DAY = '0001-01-01'

const DAY_MS = 86_400_000

/** The day `days` days before `day`, both YYYY-MM-DD. */
export function dayBefore (day: string, days: number): string {
  return utcDay(new Date(Date.parse(`${day}T00:00:00Z`) - days * DAY_MS))
}

export type WindowProblem = 'order' | 'span' | 'first_day'

/** The window with its defaults filled in, or what is wrong with it. */
export function usageWindow (from: string | undefined, to: string | undefined, now = new Date()):
{ from: string, to: string, problem?: WindowProblem } {
  const last = to ?? utcDay(now)
  const first = from ?? dayBefore(last, DEFAULT_DAYS - 1)
  if (first > last) return { from: first, to: last, problem: 'order' }
  if (first < dayBefore(last, MAX_DAYS - 1)) return { from: first, to: last, problem: 'span' }
  if (first < FIRST_DAY) return { from: first, to: last, problem: 'first_day' }
  return { from: first, to: last }
}
