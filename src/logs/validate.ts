// Checks one log entry against the schema and the rules JSON schema cannot
// say, and turns it into what is stored: common loggers' fields and the
// client's defaults filled in (logger-shapes.ts), status upper-cased, level
// defaulted, executed_at to the millisecond, unknown fields moved into
// attributes, and what it counts for in bytes.
import type { ErrorObject } from 'ajv'
import type { Insertable } from 'kysely'
import { entryAjv } from '../schemas/ajv.ts'
import type { LogsTable } from '../db/schema.ts'
import { entrySize } from './entry-size.ts'
import { pointInTime } from './time.ts'
import { isNativeShape, NO_DEFAULTS, shapeEntry, TIME_FIELDS, type EntryDefaults, type SentAs } from './logger-shapes.ts'
import { ATTRIBUTES_MAX_BYTES, LogEntry, MESSAGE_MAX, STATUS_MAX, type LogEntryInput, type RejectionBody } from './schemas.ts'

const validateEntry = entryAjv.compile<LogEntryInput>(LogEntry)

const KNOWN_FIELDS = new Set(Object.keys(LogEntry.properties))
const MAX_ATTRIBUTE_DEPTH = 32

/**
 * An entry as checked, ready to be written: the columns of `logs` that the
 * client supplies (not its tenant, id, key or time of receipt), every one
 * present, `attributes` as serialized JSON (or null), and `size_bytes`, what
 * the entry counts for against the ingest bytes limit and the storage quota
 * (entry-size.ts).
 */
export type NormalizedEntry =
  Omit<Required<Insertable<LogsTable>>, 'client_id' | 'id' | 'key_id' | 'received_at' | 'executed_at' | 'size_bytes'> &
  { executed_at: Date, size_bytes: number }

/** Marks an NDJSON line that is not valid JSON, so it is reported by index like any other bad entry. */
export class UnparsableLine {
  readonly line: number
  readonly reason: string

  constructor (line: number, reason: string) {
    this.line = line
    this.reason = reason
  }
}

/** Marks an entry refused before it was parsed (too many fields, too many bytes), with the issue to report at its index. */
export class RefusedEntry {
  readonly code: string
  readonly message: string

  constructor (code: string, message: string) {
    this.code = code
    this.message = message
  }
}

export type EntryCheck =
  | { ok: true, entry: NormalizedEntry }
  | { ok: false, issues: RejectionBody[] }

function issue (index: number, code: string, message: string, field?: string): EntryCheck {
  return { ok: false, issues: [field === undefined ? { index, code, message } : { index, field, code, message }] }
}

/**
 * Checks one entry. `defaults` are the client's, for an entry that leaves out
 * environment or status (POST /api/v1/logs; other intakes fill them in
 * before).
 */
export function checkEntry (raw: unknown, index: number, defaults: EntryDefaults = NO_DEFAULTS): EntryCheck {
  if (raw instanceof UnparsableLine) return issue(index, 'invalid_json', `line ${raw.line} is not valid JSON: ${raw.reason}`)
  if (raw instanceof RefusedEntry) return issue(index, raw.code, raw.message)
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return issue(index, 'invalid_type', 'a log entry must be a JSON object')
  }
  const input = { ...raw } as Record<string, unknown>
  // Nearly every entry is native already, and costs a few property reads here.
  if (isNativeShape(input)) return checkFields(input, index)
  const { sentAs, issues } = shapeEntry(input, defaults)
  const check = checkFields(input, index)
  if (issues.length === 0 && check.ok) return check
  const found: RejectionBody[] = issues.map(({ field, code, message }) => ({ index, field, code, message }))
  if (!check.ok) {
    // What a logger's unreadable field was to fill is reported once, by the name it was sent as.
    for (const other of check.issues) if (!issues.some((shaping) => shaping.fills === other.field)) found.push(asSent(other, sentAs))
  }
  return { ok: false, issues: found }
}

/** An issue with a field filled from a logger's field, named as it was sent (`time`, not `executed_at`). */
function asSent (found: RejectionBody, sentAs: SentAs): RejectionBody {
  const name = found.field === undefined ? undefined : sentAs[found.field as keyof SentAs]
  return name === undefined ? found : { ...found, field: name }
}

/** The checks of an entry in native shape. */
function checkFields (input: Record<string, unknown>, index: number): EntryCheck {
  if (!validateEntry(input)) {
    return { ok: false, issues: (validateEntry.errors ?? []).map((error) => describeIssue(error, index)) }
  }
  const entry = input as LogEntryInput & Record<string, unknown>

  const badValue = findBadValue(entry, 0)
  if (badValue !== undefined) return issue(index, badValue.code, badValue.message, badValue.field)
  if (entry.message !== undefined && Buffer.byteLength(entry.message) > MESSAGE_MAX) {
    return issue(index, 'too_long', `must not be longer than ${MESSAGE_MAX} bytes (UTF-8)`, 'message')
  }

  // The schema counts the status as sent; what is stored is upper-cased, and
  // upper-casing can lengthen it (ß becomes SS, ﬃ becomes FFI): the limit holds for what is stored.
  const status = entry.status.toUpperCase()
  // Counted in code points, as the schema counts; a string of at most STATUS_MAX UTF-16 units has no more.
  const statusLength = status.length > STATUS_MAX ? [...status].length : status.length
  if (statusLength > STATUS_MAX) {
    return issue(index, 'too_long', `must not be longer than ${STATUS_MAX} characters once upper-cased, as it is stored ` +
      `(upper-cased it is ${statusLength} characters)`, 'status')
  }

  const executedAt = pointInTime(entry.executed_at)
  if (executedAt === undefined) {
    return issue(index, 'invalid_format', 'must be a real point in time (a leap second such as 23:59:60 cannot be stored)', 'executed_at')
  }
  const year = executedAt.getUTCFullYear()
  if (year < 1 || year > 9999) return issue(index, 'out_of_range', 'must be a time between the years 0001 and 9999', 'executed_at')

  // Most entries have no unknown field: their attributes are stored as sent, without a copy.
  let withUnknown: Record<string, unknown> | undefined
  for (const name in entry) {
    if (KNOWN_FIELDS.has(name)) continue
    withUnknown ??= { ...entry.attributes }
    if (Object.hasOwn(withUnknown, name)) {
      return issue(index, 'attribute_conflict', `"${name}" is given both as a top-level field and inside attributes`, name)
    }
    withUnknown[name] = entry[name]
  }
  const attributes = withUnknown ?? entry.attributes
  let serialized: string | null = null
  if (attributes !== undefined) {
    serialized = JSON.stringify(attributes)
    const size = Buffer.byteLength(serialized)
    if (size > ATTRIBUTES_MAX_BYTES) {
      return issue(index, 'too_large', `attributes (with unknown top-level fields) take ${size} bytes serialized; the limit is ${ATTRIBUTES_MAX_BYTES}`, 'attributes')
    }
  }

  const normalized: NormalizedEntry = {
    event_id: entry.event_id ?? null,
    environment: entry.environment,
    executed_at: executedAt,
    status,
    level: entry.level ?? 'info',
    message: entry.message ?? null,
    workflow_id: entry.workflow_id ?? null,
    workflow_name: entry.workflow_name ?? null,
    run_id: entry.run_id ?? null,
    step: entry.step ?? null,
    duration_ms: entry.duration_ms ?? null,
    trace_id: entry.trace_id ?? null,
    attributes: serialized,
    size_bytes: 0
  }
  // Set on the object as built (a copy with one more field would cost every entry an allocation).
  normalized.size_bytes = entrySize(normalized)
  return { ok: true, entry: normalized }
}

const CODES: Record<string, string> = {
  required: 'missing_field',
  type: 'invalid_type',
  minLength: 'too_short',
  maxLength: 'too_long',
  format: 'invalid_format',
  minimum: 'out_of_range',
  enum: 'invalid_value'
}

// What may stand in for a missing required field.
const REQUIRED_HINTS: Record<string, string> = {
  executed_at: ` (or a logger's time: ${TIME_FIELDS.join(', ')})`,
  environment: ', or a default for the client (PATCH /api/v1/client)',
  status: ', or a default for the client (PATCH /api/v1/client)'
}

function describeIssue (error: ErrorObject, index: number): RejectionBody {
  const path = error.instancePath.split('/').filter((part) => part !== '')
  if (error.keyword === 'required') path.push(String(error.params.missingProperty))
  const field = path.join('.')
  let message = error.message ?? 'is invalid'
  if (error.keyword === 'required') message += REQUIRED_HINTS[field] ?? ''
  if (error.keyword === 'enum') message = `must be one of ${(error.params.allowedValues as string[]).join(', ')}`
  if (error.keyword === 'format' && error.params.format === 'date-time') {
    message = 'must be an RFC 3339 date-time with a time zone, e.g. 2026-01-31T12:00:00Z'
  }
  return { index, field, code: CODES[error.keyword] ?? 'invalid_value', message }
}

interface BadValue { field: string, code: string, message: string }

// PostgreSQL text and jsonb cannot hold NUL or unpaired surrogates, very deep
// JSON would hit its stack limit, and a number too large for JSON (1e400
// parses as Infinity) would be stored as something else: refuse them here,
// as the client's error. The path of a bad value is spelled only once one is
// found (field '' is the value itself; each level up puts its key in front).
function findBadValue (value: unknown, depth: number): BadValue | undefined {
  if (typeof value === 'number') {
    return Number.isFinite(value) ? undefined : { field: '', code: 'out_of_range', message: 'must be a finite number' }
  }
  if (typeof value === 'string') return badText(value)
  if (typeof value !== 'object' || value === null) return undefined
  if (depth > MAX_ATTRIBUTE_DEPTH) {
    return { field: '', code: 'too_deep', message: `nests deeper than ${MAX_ATTRIBUTE_DEPTH} levels` }
  }
  for (const key of Object.keys(value)) {
    const bad = badText(key) ?? findBadValue((value as Record<string, unknown>)[key], depth + 1)
    if (bad !== undefined) {
      bad.field = bad.field === '' ? key : `${key}.${bad.field}`
      return bad
    }
  }
  return undefined
}

function badText (text: string): BadValue | undefined {
  if (text.includes('\u0000')) return { field: '', code: 'invalid_character', message: 'must not contain the NUL character (\\u0000)' }
  if (!text.isWellFormed()) return { field: '', code: 'invalid_character', message: 'must be valid Unicode (it holds an unpaired surrogate)' }
  return undefined
}
