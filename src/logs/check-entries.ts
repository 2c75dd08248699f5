// Parses and checks a request's entries one after another, keeping only what
// each becomes (its parsed form is garbage at once), and giving the event
// loop back whenever a slice of time is used up: a thousand large entries take
// long to check, and other requests must not wait for all of them.
import { Pacer } from '../body/pace.ts'
import { ReceivedEntries } from '../body/read-entries.ts'
import type { RejectionBody } from './schemas.ts'
import { checkEntry, type NormalizedEntry } from './validate.ts'
import { NO_DEFAULTS, type EntryDefaults } from './logger-shapes.ts'

/** A request's entries, each parsed when asked for. */
export interface EntrySource {
  /** Whether the body was one entry rather than a batch. */
  readonly single: boolean
  readonly length: number
  entry: (index: number) => unknown
}

/** The entries of a body: as the body parsers found them, or a plain value (one entry) or array (a batch). */
export function entrySource (body: unknown): EntrySource {
  if (body instanceof ReceivedEntries) return body
  const items: unknown[] = Array.isArray(body) ? body : [body]
  return { single: !Array.isArray(body), length: items.length, entry: (index) => items[index] }
}

/**
 * A shipper's request (an OTLP request's records, a Loki push's entries),
 * each entry mapped to the native ingest form only when asked for.
 */
export interface MappedEntries {
  readonly length: number
  /** The entry at `index` as a native entry, not yet checked (or why it cannot be one): `receivedAt` stands in for an entry without a time. */
  toEntry: (index: number, receivedAt: Date, defaults: EntryDefaults) => unknown
  /** Where the entry at `index` is in the request, for messages. */
  path: (index: number) => string
}

export interface CheckedEntries {
  valid: Array<{ index: number, entry: NormalizedEntry }>
  issues: RejectionBody[]
}

/**
 * Checks the entries in order. Within one slice of time (nearly every
 * request: a single entry, or a small batch) they are checked at once and
 * the answer is no promise; past it, the rest are checked after giving the
 * event loop back, slice by slice.
 */
export function checkEntries (entries: EntrySource, defaults: EntryDefaults = NO_DEFAULTS): CheckedEntries | Promise<CheckedEntries> {
  const pacer = new Pacer()
  return checkFrom(entries, defaults, 0, { valid: [], issues: [] }, pacer)
}

/**
 * Checks a shipper's entries, each mapped as it is checked, within
 * checkEntries' slices of time. The mapping fills in the client's defaults,
 * so the checks need none.
 */
export function checkMappedEntries (entries: MappedEntries, defaults: EntryDefaults): CheckedEntries | Promise<CheckedEntries> {
  const receivedAt = new Date()
  return checkEntries({ single: false, length: entries.length, entry: (index) => entries.toEntry(index, receivedAt, defaults) })
}

function checkFrom (entries: EntrySource, defaults: EntryDefaults, from: number, checked: CheckedEntries, pacer: Pacer): CheckedEntries | Promise<CheckedEntries> {
  for (let index = from; index < entries.length; index++) {
    const check = checkEntry(entries.entry(index), index, defaults)
    if (check.ok) checked.valid.push({ index, entry: check.entry })
    else checked.issues.push(...check.issues)
    if (pacer.due()) return checkAfterYield(entries, defaults, index + 1, checked, pacer)
  }
  return checked
}

async function checkAfterYield (entries: EntrySource, defaults: EntryDefaults, from: number, checked: CheckedEntries, pacer: Pacer): Promise<CheckedEntries> {
  await pacer.yield()
  return await checkFrom(entries, defaults, from, checked, pacer)
}
