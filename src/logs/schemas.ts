// The log routes' schemas: the single source of validation, types and OpenAPI.
import { Type, type Static } from '@sinclair/typebox'

export const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const
export const MESSAGE_MAX = 65536
/** Characters in a status, counted as stored: after upper-casing, which can lengthen it (ﬃ becomes FFI). */
export const STATUS_MAX = 32
export const ATTRIBUTES_MAX_BYTES = 65536
/**
 * The most JSON text one entry may take. A valid entry needs far less (its
 * message and attributes, every character escaped as \uXXXX, take about
 * 800 KiB), so this refuses only entries that are invalid or padded, and
 * bounds what parsing one entry costs.
 */
export const ENTRY_MAX_BYTES = 1024 * 1024

// A plain enum (not a union of literals) so a bad value gets one clear error.
const Level = Type.Unsafe<typeof LEVELS[number]>({ type: 'string', enum: [...LEVELS] })
const Short = (maxLength: number, description: string) => Type.String({ maxLength, description })

export const LogEntry = Type.Object({
  environment: Type.String({ minLength: 1, maxLength: 64, description: 'Where the run happened, e.g. production.' }),
  executed_at: Type.String({ format: 'date-time', description: 'RFC 3339 time of the run; stored to the millisecond.' }),
  status: Type.String({
    minLength: 1,
    maxLength: STATUS_MAX,
    description: `SUCCESS, FAILURE, RUNNING, SKIPPED...; stored upper-cased, and at most ${STATUS_MAX} characters once upper-cased.`
  }),
  event_id: Type.Optional(Type.String({
    minLength: 1,
    maxLength: 128,
    description: 'Idempotency key: the same event_id from the same client is stored once.'
  })),
  level: Type.Optional(Type.Unsafe<typeof LEVELS[number]>({ ...Level, default: 'info' })),
  message: Type.Optional(Short(MESSAGE_MAX, 'Free text, up to 65,536 bytes (UTF-8).')),
  workflow_id: Type.Optional(Short(256, 'Workflow identifier.')),
  workflow_name: Type.Optional(Short(256, 'Workflow name.')),
  run_id: Type.Optional(Short(256, 'Run identifier.')),
  step: Type.Optional(Short(256, 'Step within the run.')),
  duration_ms: Type.Optional(Type.Number({ minimum: 0, description: 'Duration in milliseconds.' })),
  trace_id: Type.Optional(Short(64, 'Trace identifier for correlation.')),
  attributes: Type.Optional(Type.Record(Type.String(), Type.Unknown(), {
    description: 'Free-form JSON object, up to 64 KiB serialized. Unknown top-level fields are kept here.'
  }))
}, { additionalProperties: true, description: 'One log entry. Fields not listed are kept inside attributes.' })

export type LogEntryInput = Static<typeof LogEntry>

const Nullable = <T extends ReturnType<typeof Type.String>>(schema: T) => Type.Union([schema, Type.Null()])

export const StoredLog = Type.Object({
  id: Type.String({ format: 'uuid' }),
  event_id: Nullable(Type.String()),
  environment: Type.String(),
  executed_at: Type.String({ format: 'date-time' }),
  status: Type.String(),
  level: Level,
  message: Nullable(Type.String()),
  workflow_id: Nullable(Type.String()),
  workflow_name: Nullable(Type.String()),
  run_id: Nullable(Type.String()),
  step: Nullable(Type.String()),
  duration_ms: Type.Union([Type.Number(), Type.Null()]),
  trace_id: Nullable(Type.String()),
  attributes: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()]),
  received_at: Type.String({ format: 'date-time' })
})

export type StoredLogBody = Static<typeof StoredLog>

export const Rejection = Type.Object({
  index: Type.Integer({ description: 'Position of the entry in the request (0-based; NDJSON: among non-blank lines).' }),
  field: Type.Optional(Type.String()),
  code: Type.String(),
  message: Type.String()
})

export type RejectionBody = Static<typeof Rejection>

export const BatchResult = Type.Object({
  accepted: Type.Integer({ description: 'Entries newly stored.' }),
  duplicates: Type.Integer({ description: 'Entries whose event_id was already stored (or repeated in this batch).' }),
  ids: Type.Array(Type.Union([Type.String({ format: 'uuid' }), Type.Null()]), {
    description: 'The stored id of each entry, in request order; a duplicate gets the id stored first, a rejected entry null.'
  }),
  rejected: Type.Optional(Type.Array(Rejection, { description: 'With ?partial=true: the entries not stored.' }))
})

export type BatchResultBody = Static<typeof BatchResult>

export const IngestBody = Type.Union([LogEntry, Type.Array(LogEntry), Type.Object({ logs: Type.Array(LogEntry) }, { additionalProperties: false })], {
  description: 'One log entry, a JSON array of them, {"logs": [...]} (a batch, as log senders wrap one), or NDJSON ' +
    '(application/x-ndjson, or no Content-Type). A form-encoded body (application/x-www-form-urlencoded) is one entry, every value ' +
    'text. Content-Encoding: gzip or deflate accepted.'
})

export const IngestQuery = Type.Object({
  partial: Type.Optional(Type.Boolean({
    default: false,
    description: 'Store the valid entries of a batch and report the rejected ones, instead of rejecting the whole batch.'
  })),
  success_status: Type.Optional(Type.Unsafe<200 | 201>({
    type: 'integer',
    enum: [200, 201],
    default: 201,
    description: 'The status of a success: 201 (Created), or 200 for clients that take no other as success (winston\'s Http transport).'
  }))
}, { additionalProperties: false })

/**
 * A page size read from a query string. Query values are coerced to numbers,
 * and ajv's coercion reads "Infinity" or "1e309" as Infinity, after which its
 * range checks (which skip non-finite numbers) pass; the nested type check,
 * which does not coerce a number, refuses it.
 */
export const PageLimit = Type.Integer({ minimum: 1, maximum: 1000, default: 100, allOf: [{ type: 'integer' }] })

// A text filter: PostgreSQL cannot compare text holding NUL, so it is refused here.
const Filter = (maxLength: number, description?: string) =>
  Type.Optional(Type.String({ minLength: 1, maxLength, pattern: '^[^\\u0000]*$', ...(description === undefined ? {} : { description }) }))

/** The filters every query route of logs takes (listing, stats, export, tail), as query parameters. */
export const FilterParams = {
  from: Type.Optional(Type.String({ format: 'date-time', description: 'executed_at at or after this time.' })),
  to: Type.Optional(Type.String({ format: 'date-time', description: 'executed_at before this time.' })),
  status: Filter(32, 'Matched upper-cased.'),
  level: Type.Optional(Level),
  environment: Filter(64),
  workflow_id: Filter(256),
  run_id: Filter(256),
  q: Filter(256, 'Case-insensitive substring of message.')
}

export const FilterQuery = Type.Object(FilterParams, { additionalProperties: false })

export type FilterQueryInput = Static<typeof FilterQuery>

export const ListQuery = Type.Object({
  ...FilterParams,
  limit: PageLimit,
  order: Type.Unsafe<'desc' | 'asc'>({ type: 'string', enum: ['desc', 'asc'], default: 'desc', description: 'By executed_at, then id.' }),
  cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 512, description: 'next_cursor of the previous page.' }))
}, { additionalProperties: false })

export type ListQueryInput = Static<typeof ListQuery>

export const LogPage = Type.Object({
  data: Type.Array(StoredLog),
  next_cursor: Type.Union([Type.String(), Type.Null()], {
    description: 'Pass as cursor for the next page; null on the last page. A page cut short by its size in bytes has fewer than limit rows and a next_cursor.'
  })
})

export type LogPageBody = Static<typeof LogPage>

export const LogIdParams = Type.Object({
  id: Type.String({ description: 'The log id.' })
})

// GET /api/v1/logs/:id takes no query parameters; one sent anyway is refused,
// as an unknown parameter is everywhere else.
export const LogByIdQuery = Type.Object({}, { additionalProperties: false })

export const ExportQuery = Type.Object({
  ...FilterParams,
  format: Type.Unsafe<'ndjson' | 'csv'>({ type: 'string', enum: ['ndjson', 'csv'], default: 'ndjson', description: 'NDJSON (one log per line) or CSV.' }),
  order: Type.Unsafe<'asc' | 'desc'>({ type: 'string', enum: ['asc', 'desc'], default: 'asc', description: 'By executed_at, then id; oldest first by default.' })
}, { additionalProperties: false })

export type ExportQueryInput = Static<typeof ExportQuery>
