// Loki's push request in protobuf (logproto.PushRequest), from Grafana Loki's
// own definition (./proto/push.proto: pkg/push/push.proto of Loki v3.7.6,
// vendored unchanged, Apache-2.0 as ./proto/LICENSE says), read by protobufjs
// when the process starts.
import { fileURLToPath } from 'node:url'
import protobuf from 'protobufjs'
import { checkedStringReader } from '../protobuf-reader.ts'

/**
 * The vendored push.proto, for anything else that encodes or decodes pushes
 * (a benchmark, a test). It imports gogoproto/gogo.proto, which is not
 * vendored: skip that import as below, or use PushRequestType.
 */
export const LOKI_PUSH_PROTO = fileURLToPath(new URL('./proto/push.proto', import.meta.url))

const root = new protobuf.Root()
// push.proto imports gogoproto only for Go code generation options, which
// protobufjs keeps as plain options: the import is skipped rather than vendored.
// google/protobuf/timestamp.proto is one of the files protobufjs bundles.
root.resolvePath = (origin, target) => target === 'gogoproto/gogo.proto' ? null : protobuf.util.path.resolve(origin, target)
root.loadSync(LOKI_PUSH_PROTO)
root.resolveAll()

/** logproto.PushRequest, as protobufjs reads it from push.proto. */
export const PushRequestType = root.lookupType('logproto.PushRequest')

/** Thrown for bytes that are not a PushRequest. */
export class UndecodablePushRequest extends Error {}

export interface PushLabelPair {
  name: string
  value: string
}

/** A PushRequest as plain objects, to encode one (protobufjs' fromObject form). */
export interface PushRequest {
  streams?: Array<{
    /** The stream's labels in Prometheus' syntax: `{app="x", env="y"}`. */
    labels?: string
    entries?: Array<{
      /** google.protobuf.Timestamp; the 64-bit seconds as a number or a decimal string. */
      timestamp?: { seconds?: number | string, nanos?: number }
      line?: string
      structuredMetadata?: PushLabelPair[]
    }>
  }>
}

/**
 * A PushRequest as protobufjs decodes it: its message objects, read as they
 * are (the plain-object copy protobufjs' toObject makes of them was 7% of what
 * a push allocated). A field the request leaves out reads as its default: "", 0,
 * an empty list, or null for a message.
 */
export interface DecodedPush {
  streams: DecodedStream[]
}

export interface DecodedStream {
  labels: string
  entries: DecodedEntry[]
}

export interface DecodedEntry {
  timestamp: DecodedTimestamp | null
  line: string
  structuredMetadata: PushLabelPair[]
}

export interface DecodedTimestamp {
  /** int64: a Long (long.js), or a number where protobufjs has no Long. */
  seconds: number | { toNumber: () => number }
  nanos: number
}

/** A PushRequest in protobuf, decoded; its strings checked to be UTF-8. */
export function decodePushRequest (bytes: Uint8Array): DecodedPush {
  try {
    return PushRequestType.decode(checkedStringReader(bytes)) as unknown as DecodedPush
  } catch (error) {
    // A RangeError too, from input nesting deeper than the stack goes.
    throw new UndecodablePushRequest(error instanceof Error ? error.message : String(error))
  }
}

/** A PushRequest in protobuf, from its plain-object form: for tests that build bodies by hand. */
export function encodePushRequest (request: PushRequest): Buffer {
  return Buffer.from(PushRequestType.encode(PushRequestType.fromObject(request)).finish())
}
