// The names and numbers other loggers give their levels, as this service's
// six levels. Shippers pass on whatever their logger said: syslog's and
// Loki's names (warning, err, crit, emerg…), winston's (verbose, http, silly),
// ECS `log.level`, Python's and java.util.logging's (severe, fine, finest…),
// and pino's numbers (10 trace … 60 fatal).
import type { LEVELS } from './schemas.ts'

export type Level = typeof LEVELS[number]

const NAMES: Record<string, Level> = {
  trace: 'trace',
  silly: 'trace',
  finest: 'trace',
  finer: 'trace',
  debug: 'debug',
  dbg: 'debug',
  fine: 'debug',
  verbose: 'debug',
  http: 'debug',
  info: 'info',
  information: 'info',
  informational: 'info',
  notice: 'info',
  config: 'info',
  warn: 'warn',
  warning: 'warn',
  error: 'error',
  err: 'error',
  severe: 'error',
  fatal: 'fatal',
  critical: 'fatal',
  crit: 'fatal',
  alert: 'fatal',
  emerg: 'fatal',
  emergency: 'fatal',
  panic: 'fatal'
}

/**
 * The level a name (any case, surrounding spaces ignored) or a pino level
 * number (also as two-digit text, as labels carry it) stands for; undefined
 * when it names none.
 */
export function levelFromName (name: string | number): Level | undefined {
  if (typeof name === 'number') return levelFromNumber(name)
  const text = name.trim().toLowerCase()
  if (/^[0-9]{2}$/.test(text)) return levelFromNumber(Number(text))
  return Object.hasOwn(NAMES, text) ? NAMES[text] : undefined
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
