// An OTLP/JSON request's records, read as parsed and checked against the
// request schema (schemas.ts): 64-bit integers as decimal text (or numbers),
// ids in hex, bytes in base64, fields left out absent.
import { RequestRecords, NO_BODY, setAttribute, withScopeName, type RecordReader } from './map.ts'
import type { OtlpAnyValue, OtlpKeyValue, OtlpLogRecordBody, OtlpRequest } from './schemas.ts'

type ResourceLogs = NonNullable<OtlpRequest['resourceLogs']>[number]
type ScopeLogs = NonNullable<ResourceLogs['scopeLogs']>[number]

/** Key-value pairs as an object (a key given twice: the last wins). */
function attributesOf (pairs: OtlpKeyValue[] | undefined, into: Record<string, unknown> = {}): Record<string, unknown> {
  for (const { key, value } of pairs ?? []) setAttribute(into, key, value === undefined ? null : valueOf(value))
  return into
}

/**
 * An AnyValue as a JSON value: an integer as a number when it is exact as
 * one (else its decimal string), a key-value list as an object, bytes as
 * their base64 text, an empty value as null.
 */
function valueOf (value: OtlpAnyValue): unknown {
  if (value.stringValue !== undefined) return value.stringValue
  if (value.boolValue !== undefined) return value.boolValue
  if (value.intValue !== undefined) {
    const number = Number(value.intValue)
    return Number.isSafeInteger(number) ? number : String(value.intValue)
  }
  // A number, or NaN and the infinities as text.
  if (value.doubleValue !== undefined) return value.doubleValue
  if (value.arrayValue !== undefined) return (value.arrayValue.values ?? []).map(valueOf)
  if (value.kvlistValue !== undefined) return attributesOf(value.kvlistValue.values)
  if (value.bytesValue !== undefined) return value.bytesValue
  return null
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

const JSON_READER: RecordReader<OtlpRequest, ResourceLogs, ScopeLogs, OtlpLogRecordBody> = {
  resourceLogs: (request) => request.resourceLogs ?? [],
  scopeLogs: (resourceLogs) => resourceLogs.scopeLogs ?? [],
  logRecords: (scopeLogs) => scopeLogs.logRecords ?? [],
  resourceAttributes: (resourceLogs) => attributesOf(resourceLogs.resource?.attributes),
  scopeAttributes: ({ scope }) => withScopeName(attributesOf(scope?.attributes), scope?.name, scope?.version),
  addAttributes: (record, into) => { attributesOf(record.attributes, into) },
  time: (record) => timeOf(record.timeUnixNano) ?? timeOf(record.observedTimeUnixNano),
  severityNumber: (record) => record.severityNumber,
  severityText: (record) => record.severityText,
  eventName: (record) => record.eventName,
  body: (record) => record.body === undefined ? NO_BODY : valueOf(record.body),
  traceId: (record) => record.traceId?.toLowerCase(),
  spanId: (record) => record.spanId?.toLowerCase()
}

/** The records of an OTLP/JSON request. */
export function jsonRecords (request: OtlpRequest): RequestRecords<OtlpRequest, ResourceLogs, ScopeLogs, OtlpLogRecordBody> {
  return new RequestRecords(request, JSON_READER)
}
