// OTLP log records as log entries of this service: each record becomes one
// entry in the native ingest form, which the native checks then judge
// (checkEntries), so every rule of POST /api/v1/logs holds. The README's
// "Send logs from OpenTelemetry" has the mapping as a table.
import { levelFromName, type Level } from '../logs/level-names.ts'
import type { EntryDefaults } from '../logs/logger-shapes.ts'
import { FALLBACK_ENVIRONMENT, FALLBACK_STATUS } from '../logs/shipper-fallbacks.ts'
import type { OtlpAnyValue, OtlpKeyValue, OtlpLogRecordBody, OtlpRequest } from './schemas.ts'

/** Attributes lifted into the columns of the same name (and out of `attributes`). */
const LIFTED_NAMES: ReadonlySet<string> = new Set(['workflow_id', 'run_id', 'step', 'status', 'event_id', 'duration_ms'])
/** The OpenTelemetry attribute of a record's unique id: its idempotency key. */
const RECORD_UID = 'log.record.uid'

/** A record and where it sits in the request, for messages. */
export interface PlacedRecord {
  record: OtlpLogRecordBody
  resource: Record<string, unknown>
  scope: Record<string, unknown>
  /** `resourceLogs[i].scopeLogs[j].logRecords[k]` */
  path: string
}

/** The records of a request in order, each with its resource's and scope's attributes as plain values. */
export function recordsOf (request: OtlpRequest): PlacedRecord[] {
  const placed: PlacedRecord[] = []
  ;(request.resourceLogs ?? []).forEach((resourceLogs, i) => {
    const resource = attributesOf(resourceLogs.resource?.attributes)
    ;(resourceLogs.scopeLogs ?? []).forEach((scopeLogs, j) => {
      const scope = attributesOf(scopeLogs.scope?.attributes)
      const { name, version } = scopeLogs.scope ?? {}
      if (name !== undefined && name !== '') scope['otel.scope.name'] = name
      if (version !== undefined && version !== '') scope['otel.scope.version'] = version
      ;(scopeLogs.logRecords ?? []).forEach((record, k) => {
        placed.push({ record, resource, scope, path: `resourceLogs[${i}].scopeLogs[${j}].logRecords[${k}]` })
      })
    })
  })
  return placed
}

/** The total of records in a request, counted without building anything. */
export function countRecords (request: OtlpRequest): number {
  let count = 0
  for (const resourceLogs of request.resourceLogs ?? []) {
    for (const scopeLogs of resourceLogs.scopeLogs ?? []) count += scopeLogs.logRecords?.length ?? 0
  }
  return count
}

/**
 * The record as a native log entry (not yet checked): `receivedAt` stands in
 * for a record with neither time.
 */
export function toEntry ({ record, resource, scope }: PlacedRecord, receivedAt: Date, defaults: EntryDefaults): Record<string, unknown> {
  // Resource, then scope, then record attributes, a later name winning; copied
  // key by key, which measured five times faster than spreading the three.
  const merged: Record<string, unknown> = {}
  for (const key of Object.keys(resource)) merged[key] = resource[key]
  for (const key of Object.keys(scope)) merged[key] = scope[key]
  for (const { key, value } of record.attributes ?? []) merged[key] = value === undefined ? null : valueOf(value)
  const entry: Record<string, unknown> = {
    environment: textOf(resource['deployment.environment.name']) ?? textOf(resource['deployment.environment']) ??
      defaults.environment ?? FALLBACK_ENVIRONMENT,
    executed_at: timeOf(record.timeUnixNano) ?? timeOf(record.observedTimeUnixNano) ?? receivedAt.toISOString(),
    status: defaults.status ?? FALLBACK_STATUS,
    level: levelOf(record.severityNumber, record.severityText)
  }
  const workflowName = textOf(resource['service.name'])
  if (workflowName !== undefined) entry.workflow_name = workflowName
  if (record.body !== undefined) {
    const body = valueOf(record.body)
    entry.message = typeof body === 'string' ? body : JSON.stringify(body)
  }
  if (record.traceId !== undefined && record.traceId !== '') entry.trace_id = record.traceId.toLowerCase()
  // A record's own uid is its idempotency key; an event_id attribute beside it stays an attribute.
  const hasUid = Object.hasOwn(merged, RECORD_UID)
  if (hasUid) entry.event_id = merged[RECORD_UID]
  // The attributes are built without the lifted names rather than deleted
  // from afterwards: a delete turns an object into a slow dictionary, and
  // this runs for every record of a request.
  const attributes: Record<string, unknown> = {}
  let kept = 0
  for (const name of Object.keys(merged)) {
    if (name === RECORD_UID) continue
    if (LIFTED_NAMES.has(name) && !(name === 'event_id' && hasUid)) {
      entry[name] = merged[name]
      continue
    }
    attributes[name] = merged[name]
    kept++
  }
  if (record.spanId !== undefined && record.spanId !== '') { attributes.span_id = record.spanId.toLowerCase(); kept++ }
  if (record.severityText !== undefined && record.severityText !== '') { attributes.severity_text = record.severityText; kept++ }
  if (record.eventName !== undefined && record.eventName !== '') { attributes['event.name'] = record.eventName; kept++ }
  if (kept > 0) entry.attributes = attributes
  return entry
}

/** Key-value pairs as an object (a key given twice: the last wins). */
function attributesOf (pairs: OtlpKeyValue[] | undefined): Record<string, unknown> {
  const object: Record<string, unknown> = {}
  for (const { key, value } of pairs ?? []) object[key] = value === undefined ? null : valueOf(value)
  return object
}

/**
 * An AnyValue as a JSON value: an integer as a number when it is exact as
 * one (else its decimal string), a key-value list as an object, bytes as
 * their base64 text, an empty value as null.
 */
export function valueOf (value: OtlpAnyValue): unknown {
  if (value.stringValue !== undefined) return value.stringValue
  if (value.boolValue !== undefined) return value.boolValue
  if (value.intValue !== undefined) {
    const number = Number(value.intValue)
    return Number.isSafeInteger(number) ? number : String(value.intValue)
  }
  if (value.doubleValue !== undefined) return value.doubleValue
  if (value.arrayValue !== undefined) return (value.arrayValue.values ?? []).map(valueOf)
  if (value.kvlistValue !== undefined) return attributesOf(value.kvlistValue.values)
  if (value.bytesValue !== undefined) return value.bytesValue
  return null
}

function textOf (value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined
}

/**
 * Nanoseconds since the epoch as RFC 3339 to the millisecond; 0 or absent:
 * none. The decimal text (as the schema has it: digits only) loses its last
 * six digits rather than going through BigInt division, which cost a record
 * a few microseconds and allocations. (A number, which JSON may send, is
 * divided exactly as before.)
 */
function timeOf (nanos: string | number | undefined): string | undefined {
  if (nanos === undefined) return undefined
  if (typeof nanos === 'number') return nanos > 0 ? new Date(Number(BigInt(nanos) / 1_000_000n)).toISOString() : undefined
  if (!/[1-9]/.test(nanos)) return undefined
  return new Date(nanos.length > 6 ? Number(nanos.slice(0, -6)) : 0).toISOString()
}

/** OpenTelemetry's severity ranges (1–4 TRACE … 21–24 FATAL); without one, the text if it names a level; else info. */
export function levelOf (severityNumber: number | undefined, severityText: string | undefined): Level {
  if (severityNumber !== undefined && severityNumber >= 1 && severityNumber <= 24) {
    const levels: Level[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal']
    return levels[Math.floor((severityNumber - 1) / 4)]!
  }
  return (severityText === undefined ? undefined : levelFromName(severityText)) ?? 'info'
}
