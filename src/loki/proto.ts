// Loki's push request in protobuf (logproto.PushRequest), from Grafana Loki's
// own definition (./proto/push.proto: pkg/push/push.proto of Loki v3.7.6,
// vendored unchanged, Apache-2.0 as ./proto/LICENSE says), read by protobufjs
// when the process starts.
import { fileURLToPath } from 'node:url'
import protobuf from 'protobufjs'

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

export interface PushEntry {
  /**
   * google.protobuf.Timestamp. Seconds (int64) decode as a number: exact to
   * 2^53 seconds, far past year 9999, beyond which a time is refused anyway;
   * to encode, a decimal string does too.
   */
  timestamp?: { seconds?: number | string, nanos?: number }
  line?: string
  structuredMetadata?: PushLabelPair[]
}

export interface PushStream {
  /** The stream's labels in Prometheus' syntax: `{app="x", env="y"}`. */
  labels?: string
  entries?: PushEntry[]
}

export interface PushRequest {
  streams?: PushStream[]
}

/**
 * A PushRequest in protobuf, as a plain object, absent fields left out; the
 * 64-bit seconds as numbers, which unlike decimal strings cost no 64-bit
 * arithmetic per entry.
 */
export function decodePushRequest (bytes: Uint8Array): PushRequest {
  try {
    const message = PushRequestType.decode(bytes)
    return PushRequestType.toObject(message, { longs: Number, defaults: false, arrays: false }) as PushRequest
  } catch (error) {
    // A RangeError too, from input nesting deeper than the stack goes.
    throw new UndecodablePushRequest(error instanceof Error ? error.message : String(error))
  }
}

/** A PushRequest in protobuf, from its plain-object form: for tests that build bodies by hand. */
export function encodePushRequest (request: PushRequest): Buffer {
  return Buffer.from(PushRequestType.encode(PushRequestType.fromObject(request)).finish())
}
