// OTLP log records as log entries of this service: each record becomes one
// entry in the native ingest form, which the native checks then judge
// (checkEntries), so every rule of POST /api/v1/logs holds. The README's
// "Send logs from OpenTelemetry" has the mapping as a table. A request is
// read in the form it came in, through a RecordReader: OTLP/JSON as parsed
// (json-records.ts), protobuf as decoded (protobuf-records.ts).
import type { MappedEntries } from '../logs/check-entries.ts'
import { levelFromName, type Level } from '../logs/level-names.ts'
import type { EntryDefaults } from '../logs/logger-shapes.ts'
import { FALLBACK_ENVIRONMENT, FALLBACK_STATUS } from '../logs/shipper-fallbacks.ts'

/** Attributes lifted into the columns of the same name (and out of `attributes`). */
const LIFTED_NAMES: ReadonlySet<string> = new Set(['workflow_id', 'run_id', 'step', 'status', 'event_id', 'duration_ms'])
/** The resource attributes that name the environment, the first one set winning. */
const ENVIRONMENT_KEYS = ['deployment.environment.name', 'deployment.environment'] as const
/** The OpenTelemetry attribute of a record's unique id: its idempotency key. */
const RECORD_UID = 'log.record.uid'

/** What the mapping reads of a request's parts, in the form the request came in. */
export interface RecordReader<Request, ResourceLogs, ScopeLogs, LogRecord> extends RecordFields<LogRecord> {
  resourceLogs: (request: Request) => readonly ResourceLogs[]
  scopeLogs: (resourceLogs: ResourceLogs) => readonly ScopeLogs[]
  logRecords: (scopeLogs: ScopeLogs) => readonly LogRecord[]
  /** The resource's attributes as plain values (a name given twice: the last). */
  resourceAttributes: (resourceLogs: ResourceLogs) => Record<string, unknown>
  /** The scope's attributes as plain values, with its name and version as otel.scope.name and otel.scope.version. */
  scopeAttributes: (scopeLogs: ScopeLogs) => Record<string, unknown>
}

/** What the mapping reads of a record. */
export interface RecordFields<LogRecord> {
  /** Puts the record's attributes into `into` as plain values, in order. */
  addAttributes: (record: LogRecord, into: Record<string, unknown>) => void
  /** RFC 3339 to the millisecond of timeUnixNano, else observedTimeUnixNano; undefined when neither is set. */
  time: (record: LogRecord) => string | undefined
  severityNumber: (record: LogRecord) => number | undefined
  /** The record's texts: severityText, eventName; undefined or '' when unset. */
  severityText: (record: LogRecord) => string | undefined
  eventName: (record: LogRecord) => string | undefined
  /** The body as a plain value; NO_BODY when there is none. */
  body: (record: LogRecord) => unknown
  /** traceId and spanId in lower-case hex; undefined or '' when unset. */
  traceId: (record: LogRecord) => string | undefined
  spanId: (record: LogRecord) => string | undefined
}

export const NO_BODY = Symbol('no body')

/** What a resource gives each of its records: two columns, and the attributes left once those are lifted out. */
interface Resource {
  environment: string | undefined
  workflowName: string | undefined
  attributes: Record<string, unknown>
}

/** Where the records of one scope sit, and what they share. */
interface Scope {
  resource: Resource
  /** The resource's attributes left, then the scope's (a later name winning). */
  shared: Record<string, unknown>
  resourceIndex: number
  scopeIndex: number
  /** The number of the scope's first record in the request. */
  first: number
}

/**
 * The resource's columns, and its attributes without the ones they came
 * from: a mapped attribute leaves the attributes (as the Loki and
 * Elasticsearch mappings have it), so that no row stores a value twice.
 */
function resourceOf (attributes: Record<string, unknown>): Resource {
  const workflowName = textOf(attributes['service.name'])
  const environmentKey = ENVIRONMENT_KEYS.find((key) => textOf(attributes[key]) !== undefined)
  const left: Record<string, unknown> = {}
  for (const key in attributes) {
    if (key === environmentKey || (key === 'service.name' && workflowName !== undefined)) continue
    setAttribute(left, key, attributes[key])
  }
  return { environment: environmentKey === undefined ? undefined : textOf(attributes[environmentKey]), workflowName, attributes: left }
}

/**
 * A request's records in order, each mapped to a native entry only when
 * asked for (checkEntries asks one at a time), each resource's and scope's
 * attributes read once for all their records.
 */
export class RequestRecords<Request, ResourceLogs, ScopeLogs, LogRecord> implements MappedEntries {
  readonly length: number
  readonly #reader: RecordReader<Request, ResourceLogs, ScopeLogs, LogRecord>
  readonly #records: LogRecord[] = []
  /** The scope of each record. */
  readonly #scopeOf: Scope[] = []

  constructor (request: Request, reader: RecordReader<Request, ResourceLogs, ScopeLogs, LogRecord>) {
    this.#reader = reader
    reader.resourceLogs(request).forEach((resourceLogs, resourceIndex) => {
      const resource = resourceOf(reader.resourceAttributes(resourceLogs))
      reader.scopeLogs(resourceLogs).forEach((scopeLogs, scopeIndex) => {
        // Copied key by key, which measured five times faster than spreading the two.
        const shared: Record<string, unknown> = {}
        for (const key in resource.attributes) setAttribute(shared, key, resource.attributes[key])
        const scopeAttributes = reader.scopeAttributes(scopeLogs)
        for (const key in scopeAttributes) setAttribute(shared, key, scopeAttributes[key])
        const scope: Scope = { resource, shared, resourceIndex, scopeIndex, first: this.#records.length }
        for (const record of reader.logRecords(scopeLogs)) {
          this.#records.push(record)
          this.#scopeOf.push(scope)
        }
      })
    })
    this.length = this.#records.length
  }

  /** The record at `index` as a native log entry (not yet checked): `receivedAt` stands in for a record with neither time. */
  toEntry (index: number, receivedAt: Date, defaults: EntryDefaults): Record<string, unknown> {
    const { resource, shared } = this.#scopeOf[index]!
    return toEntry(this.#reader, this.#records[index]!, resource, shared, receivedAt, defaults)
  }

  /** `resourceLogs[i].scopeLogs[j].logRecords[k]` */
  path (index: number): string {
    const { resourceIndex, scopeIndex, first } = this.#scopeOf[index]!
    return `resourceLogs[${resourceIndex}].scopeLogs[${scopeIndex}].logRecords[${index - first}]`
  }
}

function toEntry<LogRecord> (reader: RecordFields<LogRecord>, record: LogRecord,
  resource: Resource, shared: Record<string, unknown>, receivedAt: Date, defaults: EntryDefaults): Record<string, unknown> {
  // The scope's shared attributes, then the record's, a later name winning.
  const merged: Record<string, unknown> = {}
  for (const key in shared) setAttribute(merged, key, shared[key])
  reader.addAttributes(record, merged)
  const entry: Record<string, unknown> = {
    environment: resource.environment ?? defaults.environment ?? FALLBACK_ENVIRONMENT,
    executed_at: reader.time(record) ?? receivedAt.toISOString(),
    status: defaults.status ?? FALLBACK_STATUS,
    level: levelOf(reader.severityNumber(record), reader.severityText(record))
  }
  if (resource.workflowName !== undefined) entry.workflow_name = resource.workflowName
  const body = reader.body(record)
  if (body !== NO_BODY) entry.message = typeof body === 'string' ? body : JSON.stringify(body)
  const traceId = reader.traceId(record)
  if (traceId !== undefined && traceId !== '') entry.trace_id = traceId
  // A record's own uid is its idempotency key; an event_id attribute beside it stays an attribute.
  const hasUid = Object.hasOwn(merged, RECORD_UID)
  if (hasUid) entry.event_id = merged[RECORD_UID]
  // The attributes are built without the lifted names rather than deleted
  // from afterwards: a delete turns an object into a slow dictionary, and
  // this runs for every record of a request.
  const attributes: Record<string, unknown> = {}
  let kept = 0
  for (const name in merged) {
    if (name === RECORD_UID) continue
    if (LIFTED_NAMES.has(name) && !(name === 'event_id' && hasUid)) {
      entry[name] = merged[name]
      continue
    }
    setAttribute(attributes, name, merged[name])
    kept++
  }
  const spanId = reader.spanId(record)
  if (spanId !== undefined && spanId !== '') { attributes.span_id = spanId; kept++ }
  const severityText = reader.severityText(record)
  if (severityText !== undefined && severityText !== '') { attributes.severity_text = severityText; kept++ }
  const eventName = reader.eventName(record)
  if (eventName !== undefined && eventName !== '') { attributes['event.name'] = eventName; kept++ }
  if (kept > 0) entry.attributes = attributes
  return entry
}

/**
 * Sets an attribute as an own property, __proto__ too: assigned, that name
 * would set the object's prototype, and the attribute would be lost. (With
 * no prototype set so, the attribute objects can be walked with for…in,
 * which unlike Object.keys allocates nothing.)
 */
export function setAttribute (into: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(into, key, { value, enumerable: true, writable: true, configurable: true })
  else into[key] = value
}

/** A scope's attributes, with its name and version when it has them. */
export function withScopeName (attributes: Record<string, unknown>, name: string | undefined, version: string | undefined): Record<string, unknown> {
  if (name !== undefined && name !== '') attributes['otel.scope.name'] = name
  if (version !== undefined && version !== '') attributes['otel.scope.version'] = version
  return attributes
}

/**
 * A double as a JSON value: a finite number as it is; NaN and the infinities,
 * which JSON cannot hold, as OTLP/JSON spells them ("NaN", "Infinity",
 * "-Infinity"), so that a record says the same in either encoding.
 */
export function doubleOf (value: number): number | string {
  return Number.isFinite(value) ? value : String(value)
}

function textOf (value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined
}

/** OpenTelemetry's severity ranges (1–4 TRACE … 21–24 FATAL); without one, the text if it names a level; else info. */
function levelOf (severityNumber: number | undefined, severityText: string | undefined): Level {
  if (severityNumber !== undefined && severityNumber >= 1 && severityNumber <= 24) {
    const levels: Level[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal']
    return levels[Math.floor((severityNumber - 1) / 4)]!
  }
  return (severityText === undefined ? undefined : levelFromName(severityText)) ?? 'info'
}
