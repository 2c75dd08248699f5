// Option values other than durations: counts, calendar days and names.
import { keyNameProblem } from '../keys/names.ts'
import { UNPRINTABLE_RULE } from '../text/unprintable.ts'
import { DEFAULT_MAX_LENGTH, defaultProblem, storedDefault } from '../clients/ingest-defaults.ts'
import { UsageError } from './output.ts'

/** A whole number from min to max, written in plain digits (as many as it takes: the bounds decide, not the length). */
export function wholeNumberOption (option: string, text: string, min: number, max: number): number {
  const value = /^\d+$/.test(text.trim()) ? Number(text) : Number.NaN
  if (!(value >= min && value <= max)) throw new UsageError(`${option} "${text}" must be a whole number from ${min} to ${max}.`)
  return value
}

/** A calendar day written YYYY-MM-DD, and one that exists (no 2026-02-30). */
export function dayOption (option: string, text: string): string {
  const day = text.trim()
  const ms = /^\d{4}-\d{2}-\d{2}$/.test(day) ? Date.parse(`${day}T00:00:00Z`) : Number.NaN
  // Date.parse rolls 2026-02-30 over into March: the day must come back as written.
  // Year 0 parses, but the database has none (1 BC comes before AD 1).
  const valid = !Number.isNaN(ms) && new Date(ms).toISOString().startsWith(day) && day >= '0001-01-01'
  if (!valid) throw new UsageError(`${option} "${text}" is not a calendar day written YYYY-MM-DD.`)
  return day
}

/** A key's name, by the rule the HTTP routes apply: 1 to 128 characters, one line of printable text. */
export function keyNameOption (option: string, text: string): string {
  const found = keyNameProblem(text)
  if (found !== undefined) throw new UsageError(`${option} ${found.problem}. A key name is 1 to 128 characters of printable text: ${UNPRINTABLE_RULE} are refused.`)
  return text
}

/**
 * A client's default environment or status for logs that leave it out, by
 * the rule of src/clients/ingest-defaults.ts (a status as stored,
 * upper-cased), or `default` for none.
 */
export function ingestDefaultOption (option: '--environment' | '--status', text: string): string | null {
  if (text === 'default') return null
  const field = option === '--status' ? 'status' : 'environment'
  const value = storedDefault(field, text)
  if (defaultProblem(field, value) !== undefined) {
    throw new UsageError(`${option} "${text}" must be 1 to ${DEFAULT_MAX_LENGTH[field]} characters of printable text` +
      `${field === 'status' ? ' once upper-cased' : ''} (${UNPRINTABLE_RULE} are refused), or "default".`)
  }
  return value
}
