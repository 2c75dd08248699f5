// The OTLP logs messages in protobuf, from the official OpenTelemetry .proto
// files (vendored unchanged in ./proto, release v1.11.0 of
// opentelemetry-proto), read by protobufjs when the process starts.
import { fileURLToPath } from 'node:url'
import protobuf from 'protobufjs'
import { checkedStringReader } from '../protobuf-reader.ts'
import type { OtlpRequest } from './schemas.ts'

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
 * An ExportLogsServiceRequest in protobuf, as its OTLP/JSON form: field names
 * in lowerCamelCase, 64-bit integers as decimal strings, enums as numbers,
 * trace and span ids as hex, other bytes as base64, absent fields left out.
 */
export function decodeRequest (bytes: Buffer): OtlpRequest {
  let message: protobuf.Message
  try {
    message = RequestType.decode(checkedStringReader(bytes))
  } catch (error) {
    // A RangeError too, from input nesting deeper than the stack goes.
    throw new UndecodableProtobuf(error instanceof Error ? error.message : String(error))
  }
  const request = RequestType.toObject(message, { longs: String, enums: Number, bytes: String, arrays: false, defaults: false }) as OtlpRequest
  for (const resourceLogs of request.resourceLogs ?? []) {
    for (const scopeLogs of resourceLogs.scopeLogs ?? []) {
      for (const record of scopeLogs.logRecords ?? []) {
        if (record.traceId !== undefined) record.traceId = Buffer.from(record.traceId, 'base64').toString('hex')
        if (record.spanId !== undefined) record.spanId = Buffer.from(record.spanId, 'base64').toString('hex')
      }
    }
  }
  return request
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
