// Loki's push request in JSON, as Loki's HTTP API documents it and its
// clients send it: the checks the route makes on a JSON push, and its
// documentation. Unknown fields are ignored, as Loki ignores them.
import { Type, type Static, type TSchema } from '@sinclair/typebox'

const Timestamp = Type.String({ pattern: '^[0-9]{1,19}$', description: 'Nanoseconds since the Unix epoch, as a decimal string; "0": the time of receipt.' })
const Line = Type.String({ description: 'The log line: a JSON object is read into fields, other text is the message.' })
const StructuredMetadata = Type.Object({}, {
  additionalProperties: Type.String(),
  description: 'Structured metadata of the entry: names and string values.'
})
const Labels = Type.Object({}, { additionalProperties: Type.String(), description: 'The stream\'s labels: names and string values.' })

/** `[timestamp, line]` or `[timestamp, line, structured metadata]`. */
const Value = Type.Unsafe<[string, string, Record<string, string>?]>({
  type: 'array',
  items: [Timestamp, Line, StructuredMetadata],
  minItems: 2,
  maxItems: 3,
  description: '[timestamp, line] or [timestamp, line, structured metadata].'
})

export const LokiPushSchema = Type.Object({
  streams: Type.Array(Type.Object({
    stream: Type.Optional(Labels),
    values: Type.Optional(Type.Array(Value))
  }))
}, { description: 'A Loki push request in JSON (application/json), or logproto.PushRequest in Snappy-compressed protobuf (application/x-protobuf).' })

export type LokiPushJson = Static<typeof LokiPushSchema>

/** The protobuf body as OpenAPI shows it. */
export const ProtobufPushBody: TSchema = Type.String({ format: 'binary', description: 'logproto.PushRequest in protobuf, compressed with Snappy (block format).' })

export const PushAccepted = Type.Null({
  description: 'Stored, with no body, as Loki answers. When some entries were refused and others stored, ' +
    'X-Rejected-Entries counts the refused ones and X-First-Rejection says where the first one is and why.'
})
