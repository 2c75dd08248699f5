// Durations as people write them on a command line: 90d, 24h, 30m, 45s, 2w.
import { UsageError } from './output.ts'

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 }

/**
 * About a hundred years. Nobody means more, and far more (999999999w) would
 * make a date JavaScript and PostgreSQL cannot hold.
 */
export const MAX_DURATION_SECONDS = 36_500 * 86_400

/** Seconds in a duration like `90d`, or undefined when the text is not one (or is zero). */
export function parseDuration (text: string): number | undefined {
  // Any number of digits: MAX_DURATION_SECONDS, not the length, bounds it (36500d is 3153600000s).
  const match = /^(\d+)([smhdw])$/.exec(text.trim())
  if (match === null) return undefined
  const seconds = Number(match[1]) * UNIT_SECONDS[match[2]!]!
  return seconds > 0 ? seconds : undefined
}

/** The seconds in an option's duration; anything else is a usage error naming the option. */
export function durationOption (option: string, text: string, examples = '90d, 12h, 30m or 2w'): number {
  const seconds = parseDuration(text)
  if (seconds === undefined) throw new UsageError(`${option} "${text}" is not a duration like ${examples}.`)
  if (seconds > MAX_DURATION_SECONDS) throw new UsageError(`${option} "${text}" is longer than ${MAX_DURATION_SECONDS / 86_400}d.`)
  return seconds
}
