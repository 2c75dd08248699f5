// The OTLP logs messages in protobuf, from the official OpenTelemetry .proto
// files (vendored unchanged in ./proto, release v1.11.0 of
// opentelemetry-proto), read by protobufjs when the process starts.
import { fileURLToPath } from 'node:url'
import protobuf from 'protobufjs'
import { checkedStringReader } from '../protobuf-reader.ts'

const PROTO_DIR = new URL('./proto/', import.meta.url)

const root = new protobuf.Root()
// Imports in the .proto files name paths from the top of the tree (opentelemetry/proto/…).
root.resolvePath = (_origin, target) => fileURLToPath(new URL(target, PROTO_DIR))
root.loadSync('opentelemetry/proto/collector/logs/v1/logs_service.proto')

// google.rpc.Status, which OTLP/HTTP answers errors with, as googleapis
// defines it (google/rpc/status.proto), without `details` (field 3), which
// this service never sends: a decoder skips what it does not know anyway.
root.add(new protobuf.Namespace('google').add(new protobuf.Namespace('rpc').add(
  new protobuf.Type('Status').add(new protobuf.Field('code', 1, 'int32')).add(new protobuf.Field('message', 2, 'string'))
)))
root.resolveAll()

const RequestType = root.lookupType('opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest')
const ResponseType = root.lookupType('opentelemetry.proto.collector.logs.v1.ExportLogsServiceResponse')
const StatusType = root.lookupType('google.rpc.Status')

/** Thrown for bytes that are not an ExportLogsServiceRequest. */
export class UndecodableProtobuf extends Error {}

/**
 * An ExportLogsServiceRequest as protobufjs decodes it: its message objects,
 * read as they are (protobuf-records.ts). Turning them into their OTLP/JSON
 * form first, as protobufjs' toObject does, was most of what decoding cost:
 * every 64-bit integer written out in decimal through long.js' division, ids
 * in base64 then hex, every field copied. A field the request leaves out
 * reads as its default: 0, "", an empty list, null for a message. A oneof's
 * fields (AnyValue's) read as defaults too, except the one it holds, the
 * only one of them that is the object's own property.
 */
export interface DecodedRequest {
  resourceLogs: DecodedResourceLogs[]
}

export interface DecodedResourceLogs {
  resource: { attributes: DecodedKeyValue[] } | null
  scopeLogs: DecodedScopeLogs[]
}

export interface DecodedScopeLogs {
  scope: { name: string, version: string, attributes: DecodedKeyValue[] } | null
  logRecords: DecodedLogRecord[]
}

/** A 64-bit integer as long.js holds it: two 32-bit halves. */
export interface DecodedLong {
  low: number
  high: number
  toNumber: () => number
  toString: () => string
}

export interface DecodedLogRecord {
  timeUnixNano: DecodedLong
  observedTimeUnixNano: DecodedLong
  severityNumber: number
  severityText: string
  body: DecodedAnyValue | null
  attributes: DecodedKeyValue[]
  traceId: Uint8Array
  spanId: Uint8Array
  eventName: string
}

export interface DecodedKeyValue {
  key: string
  value: DecodedAnyValue | null
}

export interface DecodedAnyValue {
  stringValue: string
  boolValue: boolean
  intValue: DecodedLong
  doubleValue: number
  arrayValue: { values: DecodedAnyValue[] } | null
  kvlistValue: { values: DecodedKeyValue[] } | null
  bytesValue: Uint8Array
}

/**
 * An ExportLogsServiceRequest in protobuf, decoded, its strings checked to be
 * UTF-8. protobufjs' recursion limit (100 messages deep) refuses what nests
 * past the stack.
 */
export function decodeRequest (bytes: Buffer): DecodedRequest {
  try {
    return RequestType.decode(checkedStringReader(bytes)) as unknown as DecodedRequest
  } catch (error) {
    // A RangeError too, from input nesting deeper than the stack goes.
    throw new UndecodableProtobuf(error instanceof Error ? error.message : String(error))
  }
}

/** An ExportLogsServiceResponse, with a partial success when records were rejected. */
export function encodeResponse (rejected: { rejectedLogRecords: number, errorMessage: string } | undefined): Buffer {
  const message = ResponseType.fromObject(rejected === undefined ? {} : { partialSuccess: rejected })
  return Buffer.from(ResponseType.encode(message).finish())
}

/** A google.rpc.Status. */
export function encodeStatus (code: number, message: string): Buffer {
  return Buffer.from(StatusType.encode(StatusType.fromObject({ code, message })).finish())
}

/** A google.rpc.Status read back (for tests and clients of this module). */
export function decodeStatus (bytes: Uint8Array): { code: number, message: string } {
  const status = StatusType.toObject(StatusType.decode(bytes), { defaults: true }) as { code: number, message: string }
  return status
}

/** An ExportLogsServiceResponse read back (for tests). */
export function decodeResponse (bytes: Uint8Array): { partialSuccess?: { rejectedLogRecords?: string, errorMessage?: string } } {
  return ResponseType.toObject(ResponseType.decode(bytes), { longs: String }) as { partialSuccess?: { rejectedLogRecords?: string, errorMessage?: string } }
}

/** An ExportLogsServiceRequest from its OTLP/JSON-like form, for tests that build protobuf bodies by hand. */
export function encodeRequest (request: Record<string, unknown>): Buffer {
  return Buffer.from(RequestType.encode(RequestType.fromObject(request)).finish())
}
