// The level names and numbers common loggers write, as this service's six
// levels: npm's (winston), syslog's, Python's and pino's numbers. Whatever
// the intake, a level the logger chose is read the same way.
import type { LEVELS } from './schemas.ts'

export type Level = typeof LEVELS[number]

// Lower-case names; a level is looked up whatever its case (Python writes WARNING).
const NAMES: ReadonlyMap<string, Level> = new Map<string, Level>([
  ['trace', 'trace'],
  ['silly', 'trace'],
  ['debug', 'debug'],
  ['verbose', 'debug'],
  // npm's order puts http below info: a logger set to info leaves it out, as it does debug.
  ['http', 'debug'],
  ['info', 'info'],
  ['information', 'info'],
  ['notice', 'info'],
  ['warn', 'warn'],
  ['warning', 'warn'],
  ['error', 'error'],
  ['err', 'error'],
  ['fatal', 'fatal'],
  ['crit', 'fatal'],
  ['critical', 'fatal'],
  ['alert', 'fatal'],
  ['emerg', 'fatal'],
  ['emergency', 'fatal'],
  ['panic', 'fatal']
])

/** The level a logger's level name stands for, any case; undefined for a name no logger above uses. */
export function levelFromName (text: string): Level | undefined {
  return NAMES.get(text) ?? NAMES.get(text.trim().toLowerCase())
}

/**
 * A pino level number: 10 trace, 20 debug, 30 info, 40 warn, 50 error, 60
 * fatal; one in between (a custom level) is the level below it, one under 20
 * is trace and one over 60 fatal. Undefined for a negative number or one
 * that is not finite.
 */
export function levelFromNumber (n: number): Level | undefined {
  if (!Number.isFinite(n) || n < 0) return undefined
  if (n >= 60) return 'fatal'
  if (n >= 50) return 'error'
  if (n >= 40) return 'warn'
  if (n >= 30) return 'info'
  if (n >= 20) return 'debug'
  return 'trace'
}
