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

/** pino's levels by tens: 10 trace, 20 debug, 30 info, 40 warn, 50 error, 60 fatal (a custom level in between goes down). */
const BY_TENS: readonly Level[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal']

/**
 * The level a name (any case, surrounding spaces ignored) or a pino level
 * number (also as decimal text) stands for; undefined when it names none.
 */
export function levelFromName (name: string | number): Level | undefined {
  if (typeof name === 'number') return levelFromNumber(name)
  const text = name.trim().toLowerCase()
  if (/^[0-9]{2}$/.test(text)) return levelFromNumber(Number(text))
  return Object.hasOwn(NAMES, text) ? NAMES[text] : undefined
}

function levelFromNumber (number: number): Level | undefined {
  if (!Number.isInteger(number) || number < 10 || number >= 70) return undefined
  return BY_TENS[Math.floor(number / 10) - 1]
}
