// An Elasticsearch document (the source line of a bulk `index` or `create`)
// as a log entry of this service, in the native ingest form, which the
// native checks then judge (checkEntries), so every rule of POST
// /api/v1/logs holds. ECS fields are read dotted (`"log.level": "warn"`) or
// nested (`"log": {"level": "warn"}`), as shippers send either. The README's
// "Send logs from Elasticsearch clients" has the mapping as a table.
import { levelFromName } from '../logs/level-names.ts'
import { FALLBACK_ENVIRONMENT, FALLBACK_STATUS } from '../logs/shipper-fallbacks.ts'
import { RefusedEntry, UnparsableLine } from '../logs/validate.ts'

/** The attribute that keeps the index a document was sent to. */
export const INDEX_ATTRIBUTE = '_index'

/** Top-level fields lifted into the columns of the same name, as on the other ingest routes. */
const LIFTED = ['workflow_id', 'run_id', 'step', 'duration_ms'] as const

/** A client's own defaults for what a document may not say (null: the fallbacks above). */
export interface DocumentDefaults {
  readonly environment: string | null
  readonly status: string | null
}

/** What the bulk action line says of its document. */
export interface DocumentTarget {
  index: string
  /** The action's `_id`: the idempotency key. */
  id: string | undefined
}

/**
 * The document as a native log entry (not yet checked), with the name each
 * field had in the document, so that a refusal names the field as sent; or
 * the refusal of a document that cannot be one.
 */
export interface MappedDocument {
  entry: Record<string, unknown> | RefusedEntry | UnparsableLine
  /** The document's name of each entry field taken from it (`executed_at` → `@timestamp`). */
  origins: Record<string, string>
}

/**
 * A field by its dotted path, written either way: the dotted key at the top
 * (`"log.level"`) or nested objects (`"log": {"level"}`). Taking it removes
 * it from the document, and a parent left empty with it.
 */
class Field {
  readonly path: string
  private readonly parts: string[]

  constructor (path: string) {
    this.path = path
    this.parts = path.split('.')
  }

  peek (document: Record<string, unknown>): unknown {
    if (Object.hasOwn(document, this.path)) return document[this.path]
    if (this.parts.length === 1) return undefined
    const parent = this.parent(document)
    const leaf = this.parts[this.parts.length - 1]!
    return parent !== undefined && Object.hasOwn(parent, leaf) ? parent[leaf] : undefined
  }

  take (document: Record<string, unknown>): void {
    if (Object.hasOwn(document, this.path)) {
      delete document[this.path]
      return
    }
    if (this.parts.length !== 2) return
    const [head, leaf] = this.parts as [string, string]
    const parent = this.parent(document)
    if (parent === undefined) return
    // A copy, so that the object as parsed is not changed behind anyone's back.
    const rest = { ...parent }
    delete rest[leaf]
    if (Object.keys(rest).length === 0) delete document[head]
    else document[head] = rest
  }

  /** Nested paths are read two levels deep, which every ECS field mapped here is. */
  private parent (document: Record<string, unknown>): Record<string, unknown> | undefined {
    if (this.parts.length !== 2) return undefined
    const parent = document[this.parts[0]!]
    return isObject(parent) ? parent : undefined
  }
}

const TIMESTAMP = new Field('@timestamp')
// Vector's events carry their time as `timestamp` unless told otherwise.
const VECTOR_TIMESTAMP = new Field('timestamp')
const MESSAGE = new Field('message')
const LEVELS = [new Field('log.level'), new Field('level')]
const SERVICE_NAME = new Field('service.name')
const TRACE_ID = new Field('trace.id')
const EVENT_ID = new Field('event.id')
const ENVIRONMENTS = [new Field('environment'), new Field('deployment.environment'), new Field('service.environment')]
const STATUSES = [new Field('status'), new Field('event.outcome')]

function isObject (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** A refusal naming the document's field, as Elasticsearch's mapping errors do. */
function refuse (field: string, problem: string): RefusedEntry {
  return new RefusedEntry('invalid_value', `failed to parse field [${field}]: ${problem}`)
}

// strict_date_optional_time, Elasticsearch's default date format: a date, and
// optionally a time with any fraction of a second and a zone (none: UTC).
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?([Zz]|[+-]\d{2}:?\d{2})?)?$/

/** A time as Elasticsearch reads one by default: an ISO 8601 date-time, or epoch milliseconds. */
export function timeOf (value: unknown): Date | undefined {
  if (typeof value === 'number') {
    const time = new Date(value)
    return Number.isFinite(value) && !Number.isNaN(time.getTime()) ? time : undefined
  }
  if (typeof value !== 'string') return undefined
  if (/^-?\d{1,15}$/.test(value)) return timeOf(Number(value))
  const match = DATE_TIME.exec(value)
  if (match === null) return undefined
  const [, year, month, day, hour = '00', minute = '00', second = '00', fraction = '', zone = 'Z'] = match
  const offset = zone.toUpperCase() === 'Z' ? 'Z' : zone.length === 5 ? `${zone.slice(0, 3)}:${zone.slice(3)}` : zone
  // Milliseconds are what is stored: a longer fraction is cut, as Date would.
  const time = new Date(`${year!}-${month!}-${day!}T${hour}:${minute}:${second}${fraction.slice(0, 4)}${offset}`)
  if (Number.isNaN(time.getTime())) return undefined
  // Date rolls 2026-02-31 over into March: a date that does not exist is refused instead.
  const asUtc = new Date(Date.UTC(Number(year), Number(month) - 1, Number(day)))
  return asUtc.getUTCDate() === Number(day) && asUtc.getUTCMonth() === Number(month) - 1 ? time : undefined
}

/** The first of `fields` the document holds as text, taken out of it. */
function takeText (document: Record<string, unknown>, fields: Field[]): { value: string, field: string } | RefusedEntry | undefined {
  for (const field of fields) {
    const value = field.peek(document)
    if (value === undefined || value === null) continue
    if (typeof value !== 'string') return refuse(field.path, `must be a string, not ${Array.isArray(value) ? 'an array' : typeof value}`)
    field.take(document)
    return { value, field: field.path }
  }
  return undefined
}

/**
 * The document as a log entry: `receivedAt` stands in for a document with no
 * time. A document that is not an object, has a time that is not one, or a
 * mapped field of the wrong type, is refused naming the field.
 */
export function toEntry (source: unknown, target: DocumentTarget, receivedAt: Date, defaults: DocumentDefaults): MappedDocument {
  const origins: Record<string, string> = {}
  if (source instanceof UnparsableLine || source instanceof RefusedEntry) return { entry: source, origins }
  if (!isObject(source)) return { entry: new RefusedEntry('invalid_type', 'failed to parse: the document must be a JSON object'), origins }
  const document: Record<string, unknown> = { ...source }
  const entry: Record<string, unknown> = {}

  const stamp = TIMESTAMP.peek(document)
  if (stamp !== undefined) {
    const time = timeOf(stamp)
    if (time === undefined) {
      return { entry: refuse('@timestamp', 'must be an ISO 8601 date-time (2026-11-20T10:00:00.000Z) or epoch milliseconds'), origins }
    }
    TIMESTAMP.take(document)
    entry.executed_at = time.toISOString()
    origins.executed_at = '@timestamp'
  } else {
    const time = timeOf(VECTOR_TIMESTAMP.peek(document))
    if (time !== undefined) {
      VECTOR_TIMESTAMP.take(document)
      origins.executed_at = 'timestamp'
    }
    entry.executed_at = (time ?? receivedAt).toISOString()
  }

  const texts: Array<[string, Field[]]> = [['message', [MESSAGE]], ['workflow_name', [SERVICE_NAME]], ['trace_id', [TRACE_ID]]]
  if (target.id === undefined) texts.push(['event_id', [EVENT_ID]])
  for (const [name, fields] of texts) {
    const found = takeText(document, fields)
    if (found instanceof RefusedEntry) return { entry: found, origins }
    if (found === undefined) continue
    entry[name] = found.value
    origins[name] = found.field
  }
  if (target.id !== undefined) {
    entry.event_id = target.id
    origins.event_id = '_id'
  }

  for (const field of LEVELS) {
    const named = field.peek(document)
    // A level of another name (a number, a word of its own) stays in the attributes as sent.
    const level = typeof named === 'string' ? levelFromName(named) : undefined
    if (level === undefined) continue
    field.take(document)
    entry.level = level
    origins.level = field.path
    break
  }

  const environment = takeText(document, ENVIRONMENTS)
  if (environment instanceof RefusedEntry) return { entry: environment, origins }
  entry.environment = environment?.value ?? defaults.environment ?? FALLBACK_ENVIRONMENT
  if (environment !== undefined) origins.environment = environment.field
  const status = takeText(document, STATUSES)
  if (status instanceof RefusedEntry) return { entry: status, origins }
  entry.status = status?.value ?? defaults.status ?? FALLBACK_STATUS
  if (status !== undefined) origins.status = status.field

  for (const name of LIFTED) {
    if (!Object.hasOwn(document, name)) continue
    entry[name] = document[name]
    origins[name] = name
    delete document[name]
  }

  // Whatever else the document holds is kept as sent, beside the index it was sent to.
  entry.attributes = { ...document, [INDEX_ATTRIBUTE]: target.index }
  return { entry, origins }
}
