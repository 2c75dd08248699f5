// What common loggers send, read as a native entry: pino's `msg`, `time`
// (epoch milliseconds) and level numbers, winston's and bunyan's ISO
// `timestamp`/`time`, Python's `created` (epoch seconds) and `levelname`,
// `severity`, level names of npm and syslog; and the client's defaults for
// `environment` and `status`. An entry already in native shape is found so
// by isNativeShape, a handful of property reads, and left alone: only an
// entry that needs it is changed here, in place (it is the checker's copy).
// The README's field table for POST /api/v1/logs says the same.
import { levelFromName, levelFromNumber, type Level } from './level-names.ts'

/** A client's defaults for what an entry may leave out (null: none, the field stays required). */
export interface EntryDefaults {
  readonly environment: string | null
  readonly status: string | null
}

export const NO_DEFAULTS: EntryDefaults = { environment: null, status: null }

/** Where an entry's time may be, after executed_at, in this order. */
export const TIME_FIELDS = ['time', 'timestamp', '@timestamp', 'created'] as const
/** Where its level may be, in this order. */
export const LEVEL_FIELDS = ['level', 'severity', 'levelname'] as const
/** Where a mapped level's value as sent is kept, among the attributes. */
export const LEVEL_ORIGINAL = 'level_original'

/** A number below this is a time in seconds (1e11 s is the year 5138), from it on milliseconds (1e11 ms is 1973). */
const SECONDS_BELOW = 1e11
/** Epoch seconds or milliseconds written as text, as a form body sends every value. */
const EPOCH_TEXT = /^-?\d{1,20}(?:\.\d{1,20})?$/

const PINO_NUMBERS: Readonly<Record<Level, number>> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 }

function isLevel (text: string): boolean {
  return text === 'info' || text === 'error' || text === 'warn' || text === 'debug' || text === 'trace' || text === 'fatal'
}

/**
 * Whether the entry needs nothing of this module: its required fields are
 * there, its level (if any) is one of the six, and no `msg` waits to be the
 * message. Every entry pays this, and nothing else here.
 */
export function isNativeShape (entry: Record<string, unknown>): boolean {
  const level = entry.level
  return entry.executed_at !== undefined && entry.environment !== undefined && entry.status !== undefined &&
    (entry.message !== undefined || entry.msg === undefined) &&
    (level === undefined
      ? entry.severity === undefined && entry.levelname === undefined
      : typeof level === 'string' && isLevel(level))
}

export interface ShapeIssue {
  /** The field as sent (`time`, `severity`). */
  field: string
  code: string
  message: string
  /** The native field it was to fill, which the native checks then need not report again. */
  fills: 'executed_at' | 'level'
}

/** The native fields filled from a logger's field, each with the name it was sent as, so that an error names what was sent. */
export type SentAs = Partial<Record<'message' | 'executed_at' | 'level', string>>

/**
 * Fills the entry's native fields from the loggers' fields and the defaults,
 * in place. A logger's field that cannot be read is an issue, and the native
 * field it was to fill is left unset, so that the entry's other problems are
 * still found and reported with it.
 */
export function shapeEntry (entry: Record<string, unknown>, defaults: EntryDefaults): { sentAs: SentAs, issues: ShapeIssue[] } {
  const sentAs: SentAs = {}
  const issues: ShapeIssue[] = []
  if (entry.message === undefined && entry.msg !== undefined) {
    entry.message = entry.msg
    delete entry.msg
    sentAs.message = 'msg'
  }
  if (entry.executed_at === undefined) {
    const field = TIME_FIELDS.find((name) => entry[name] !== undefined)
    if (field !== undefined) {
      const time = timeOf(entry[field])
      if (typeof time === 'string') {
        entry.executed_at = time
        delete entry[field]
        sentAs.executed_at = field
      } else {
        issues.push({ field, ...time, fills: 'executed_at' })
      }
    }
  }
  const levelField = LEVEL_FIELDS.find((name) => entry[name] !== undefined)
  if (levelField !== undefined) {
    const problem = mapLevel(entry, levelField)
    if (problem !== undefined) issues.push({ field: levelField, ...problem, fills: 'level' })
    else if (levelField !== 'level') sentAs.level = levelField
  }
  if (entry.environment === undefined && defaults.environment !== null) entry.environment = defaults.environment
  if (entry.status === undefined && defaults.status !== null) entry.status = defaults.status
  return { sentAs, issues }
}

type Problem = Omit<ShapeIssue, 'field' | 'fills'>

/**
 * A logger's time as RFC 3339 to the nearest millisecond: a number (or
 * digits) is epoch seconds below 1e11, else epoch milliseconds; any other
 * text is taken as an RFC 3339 time and checked as executed_at is.
 */
function timeOf (value: unknown): string | Problem {
  let epoch = value
  if (typeof value === 'string') {
    if (!EPOCH_TEXT.test(value)) return value
    epoch = Number(value)
  }
  if (typeof epoch !== 'number') {
    return { code: 'invalid_type', message: 'must be epoch milliseconds or seconds as a number, or an RFC 3339 date-time' }
  }
  const date = new Date(Math.round(Math.abs(epoch) < SECONDS_BELOW ? epoch * 1000 : epoch))
  const year = date.getUTCFullYear()
  if (!(year >= 1 && year <= 9999)) return { code: 'out_of_range', message: 'must be a time between the years 0001 and 9999' }
  return date.toISOString()
}

/**
 * Sets `level` from the level in `field` (a name of any logger, or a pino
 * number), and removes `field` when it is an alias. A value the stored level
 * does not say exactly (`http`, `notice`, 35) is kept in `level_original`.
 */
function mapLevel (entry: Record<string, unknown>, field: typeof LEVEL_FIELDS[number]): Problem | undefined {
  const value = entry[field]
  const level = typeof value === 'string' ? levelFromName(value) : typeof value === 'number' ? levelFromNumber(value) : undefined
  if (level === undefined) {
    // Left unset, not refused twice: the native checks would find the value as sent wrong too.
    delete entry.level
    return typeof value === 'string' || typeof value === 'number'
      ? { code: 'invalid_value', message: 'must be trace, debug, info, warn, error or fatal, a level name of npm, syslog or Python, or a pino level number' }
      : { code: 'invalid_type', message: 'must be a level name or a pino level number' }
  }
  entry.level = level
  if (field !== 'level') delete entry[field]
  const exact = typeof value === 'string' ? value.toLowerCase() === level : PINO_NUMBERS[level] === value
  if (!exact) {
    if (Object.hasOwn(entry, LEVEL_ORIGINAL)) {
      return { code: 'attribute_conflict', message: `is mapped to level ${level}, and its value as sent would be kept as "${LEVEL_ORIGINAL}", which the entry has already` }
    }
    entry[LEVEL_ORIGINAL] = value
  }
  return undefined
}
