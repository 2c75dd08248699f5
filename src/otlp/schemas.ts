// OTLP/HTTP logs in JSON (ExportLogsServiceRequest as the OTLP
// specification encodes it): the checks the route makes on a request,
// whichever encoding it came in, and its documentation. Unknown fields are
// ignored, as the specification wants of a receiver.
import { Type, type Static, type TSchema } from '@sinclair/typebox'

/** A 64-bit integer: a decimal string in OTLP/JSON, though numbers are accepted. */
const Int64 = Type.Union([Type.String({ pattern: '^-?[0-9]{1,20}$' }), Type.Integer()])
const UInt64 = Type.Union([Type.String({ pattern: '^[0-9]{1,20}$' }), Type.Integer({ minimum: 0 })])

/** AnyValue's fields, with `nested` for the values inside arrays and key-value lists. */
function anyValueFields<T extends TSchema> (nested: T) {
  return {
    stringValue: Type.Optional(Type.String()),
    boolValue: Type.Optional(Type.Boolean()),
    intValue: Type.Optional(Int64),
    doubleValue: Type.Optional(Type.Union([Type.Number(), Type.String({ enum: ['NaN', 'Infinity', '-Infinity'] })])),
    arrayValue: Type.Optional(Type.Object({ values: Type.Optional(Type.Array(nested)) })),
    kvlistValue: Type.Optional(Type.Object({ values: Type.Optional(Type.Array(Type.Object({ key: Type.String(), value: Type.Optional(nested) }))) })),
    bytesValue: Type.Optional(Type.String({ description: 'base64' }))
  }
}

/** AnyValue: one of its fields is set. Written as an object of optional fields, so that a wrong type names its field. */
export const AnyValue = Type.Recursive((Self) => Type.Object(anyValueFields(Self)),
  { $id: 'OtlpAnyValue', description: 'An OTLP AnyValue: one of its fields set.' })

// Referred to by its $id: the schema is added once (app.ts, and the route's own validator), not copied.
const AnyValueRef = Type.Unsafe<Static<typeof AnyValue>>(Type.Ref(AnyValue))
// A record's body and attribute values written out, the values nested in them
// by reference: ajv checks the first level inline, and calls the recursive
// schema (a context object and a path string per call) only for nested values.
const AnyValueFirstLevel = Type.Unsafe<Static<typeof AnyValue>>(Type.Object(anyValueFields(AnyValueRef), { description: 'An OTLP AnyValue: one of its fields set.' }))
const KeyValue = Type.Object({ key: Type.String(), value: Type.Optional(AnyValueFirstLevel) })
const Attributes = Type.Array(KeyValue)

export const OtlpLogRecord = Type.Object({
  timeUnixNano: Type.Optional(UInt64),
  observedTimeUnixNano: Type.Optional(UInt64),
  severityNumber: Type.Optional(Type.Integer({ minimum: 0, maximum: 24 })),
  severityText: Type.Optional(Type.String()),
  body: Type.Optional(AnyValueFirstLevel),
  attributes: Type.Optional(Attributes),
  droppedAttributesCount: Type.Optional(Type.Integer({ minimum: 0 })),
  flags: Type.Optional(Type.Integer({ minimum: 0 })),
  traceId: Type.Optional(Type.String({ description: 'hex' })),
  spanId: Type.Optional(Type.String({ description: 'hex' })),
  eventName: Type.Optional(Type.String())
})

const Resource = Type.Object({ attributes: Type.Optional(Attributes), droppedAttributesCount: Type.Optional(Type.Integer({ minimum: 0 })) })
const Scope = Type.Object({
  name: Type.Optional(Type.String()),
  version: Type.Optional(Type.String()),
  attributes: Type.Optional(Attributes)
})

export const OtlpRequestSchema = Type.Object({
  resourceLogs: Type.Optional(Type.Array(Type.Object({
    resource: Type.Optional(Resource),
    scopeLogs: Type.Optional(Type.Array(Type.Object({
      scope: Type.Optional(Scope),
      logRecords: Type.Optional(Type.Array(OtlpLogRecord)),
      schemaUrl: Type.Optional(Type.String())
    }))),
    schemaUrl: Type.Optional(Type.String())
  })))
}, { description: 'ExportLogsServiceRequest in OTLP/JSON (application/json), or in protobuf (application/x-protobuf).' })

export type OtlpRequest = Static<typeof OtlpRequestSchema>
export type OtlpLogRecordBody = Static<typeof OtlpLogRecord>
export type OtlpAnyValue = Static<typeof AnyValue>
export type OtlpKeyValue = Static<typeof KeyValue>

export const OtlpResponse = Type.Object({
  partialSuccess: Type.Optional(Type.Object({
    rejectedLogRecords: Type.String({ description: 'How many log records were refused (an int64, as a decimal string).' }),
    errorMessage: Type.String({ description: 'Why, for the first records refused.' })
  }))
}, {
  description: 'ExportLogsServiceResponse: {} when every record was stored; with application/x-protobuf, the same message in protobuf.'
})

/** The protobuf body as OpenAPI shows it. */
export const ProtobufBody: TSchema = Type.String({ format: 'binary', description: 'ExportLogsServiceRequest in protobuf.' })
