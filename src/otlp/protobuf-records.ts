// A protobuf request's records, read from protobufjs' decoded messages as
// they are: each value is turned into what its OTLP/JSON form would give
// (json-records.ts), so that a record is stored the same in either encoding,
// without that form being built first.
import { doubleOf, NO_BODY, RequestRecords, setAttribute, withScopeName, type RecordReader } from './map.ts'
import type { DecodedAnyValue, DecodedKeyValue, DecodedLogRecord, DecodedLong, DecodedRequest, DecodedResourceLogs, DecodedScopeLogs } from './proto.ts'

/** Key-value pairs as an object (a key given twice: the last wins). */
function attributesOf (pairs: readonly DecodedKeyValue[], into: Record<string, unknown> = {}): Record<string, unknown> {
  for (const { key, value } of pairs) setAttribute(into, key, valueOf(value))
  return into
}

/**
 * An AnyValue as a JSON value, as json-records.ts makes one of its JSON form:
 * an integer as a number when it is exact as one (else its decimal string),
 * a double as doubleOf has it, a key-value list as an object, bytes as their
 * base64 text, an empty value as null. The field the oneof holds is the only
 * one of its fields that is the message's own.
 */
function valueOf (value: DecodedAnyValue | null): unknown {
  if (value === null) return null
  if (Object.hasOwn(value, 'stringValue')) return value.stringValue
  if (Object.hasOwn(value, 'boolValue')) return value.boolValue
  if (Object.hasOwn(value, 'intValue')) return integerOf(value.intValue)
  if (Object.hasOwn(value, 'doubleValue')) return doubleOf(value.doubleValue)
  if (Object.hasOwn(value, 'arrayValue')) return (value.arrayValue?.values ?? []).map(valueOf)
  if (Object.hasOwn(value, 'kvlistValue')) return attributesOf(value.kvlistValue?.values ?? [])
  if (Object.hasOwn(value, 'bytesValue')) return bufferOf(value.bytesValue).toString('base64')
  return null
}

/** An int64 as a number when it is exact as one, else its decimal text. */
function integerOf (value: DecodedLong): number | string {
  const number = value.toNumber()
  return Number.isSafeInteger(number) ? number : value.toString()
}

/**
 * A fixed64 of nanoseconds since the epoch as RFC 3339 to the millisecond; 0:
 * none. Its two 32-bit halves give the milliseconds exactly in doubles,
 * without 64-bit division: the nanoseconds are high × 2^32 + low, and 2^32 is
 * 4294 × 10^6 + 967296, so the whole milliseconds are high × 4294 plus those
 * of high × 967296 + low (below 2^53, and so exact).
 */
function timeOf (nanos: DecodedLong): string | undefined {
  const high = nanos.high >>> 0
  const low = nanos.low >>> 0
  if (high === 0 && low === 0) return undefined
  return new Date(high * 4294 + Math.floor((high * 967296 + low) / 1e6)).toISOString()
}

function bufferOf (bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

/** An id in lower-case hex; '' when the record has none. */
function hexOf (bytes: Uint8Array): string {
  return bytes.length === 0 ? '' : bufferOf(bytes).toString('hex')
}

const PROTOBUF_READER: RecordReader<DecodedRequest, DecodedResourceLogs, DecodedScopeLogs, DecodedLogRecord> = {
  resourceLogs: (request) => request.resourceLogs,
  scopeLogs: (resourceLogs) => resourceLogs.scopeLogs,
  logRecords: (scopeLogs) => scopeLogs.logRecords,
  resourceAttributes: ({ resource }) => attributesOf(resource?.attributes ?? []),
  scopeAttributes: ({ scope }) => withScopeName(attributesOf(scope?.attributes ?? []), scope?.name, scope?.version),
  addAttributes: (record, into) => { attributesOf(record.attributes, into) },
  time: (record) => timeOf(record.timeUnixNano) ?? timeOf(record.observedTimeUnixNano),
  severityNumber: (record) => record.severityNumber,
  severityText: (record) => record.severityText,
  eventName: (record) => record.eventName,
  body: (record) => record.body === null ? NO_BODY : valueOf(record.body),
  traceId: (record) => hexOf(record.traceId),
  spanId: (record) => hexOf(record.spanId)
}

/** The records of a decoded protobuf request. */
export function protobufRecords (request: DecodedRequest): RequestRecords<DecodedRequest, DecodedResourceLogs, DecodedScopeLogs, DecodedLogRecord> {
  return new RequestRecords(request, PROTOBUF_READER)
}

/** A record whose severityNumber OTLP does not define (0 to 24), where it is; undefined when every record's is. */
export function badSeverity (request: DecodedRequest): { path: string, severityNumber: number } | undefined {
  const resourceLogs = request.resourceLogs
  for (let i = 0; i < resourceLogs.length; i++) {
    const scopeLogs = resourceLogs[i]!.scopeLogs
    for (let j = 0; j < scopeLogs.length; j++) {
      const records = scopeLogs[j]!.logRecords
      for (let k = 0; k < records.length; k++) {
        const { severityNumber } = records[k]!
        if (severityNumber < 0 || severityNumber > 24) return { path: `resourceLogs.${i}.scopeLogs.${j}.logRecords.${k}.severityNumber`, severityNumber }
      }
    }
  }
  return undefined
}
