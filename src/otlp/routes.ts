// POST /v1/logs: OTLP/HTTP logs, from OpenTelemetry SDK exporters and the
// Collector's otlphttp exporter, in JSON or protobuf. Each record is mapped
// to a native entry (map.ts) and judged by the native checks; the good ones
// are stored through fastify.ingest like any other ingest, and the bad ones
// are refused one by one in a partial success, as ?partial=true does.
// Registered inside the authenticated scope: clientOf(request) is always set.
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import { clientOf } from '../auth/client.ts'
import { nestsDeeper } from '../body/nesting.ts'
import { Errors } from '../errors.ts'
import { checkMappedEntries } from '../logs/check-entries.ts'
import type { EntryDefaults } from '../logs/logger-shapes.ts'
import type { RejectionBody } from '../logs/schemas.ts'
import type { NormalizedEntry } from '../logs/validate.ts'
import { bodyAjv } from '../schemas/ajv.ts'
import { AUTHENTICATED_ERRORS, errorResponses } from '../schemas/errors.ts'
import { FALLBACK_ENVIRONMENT, FALLBACK_STATUS } from '../logs/shipper-fallbacks.ts'
import { jsonRecords } from './json-records.ts'
import { decodeRequest, encodeResponse, encodeStatus, UndecodableProtobuf, type DecodedRequest } from './proto.ts'
import { badSeverity, protobufRecords } from './protobuf-records.ts'
import { AnyValue, OtlpRequestSchema, OtlpResponse, ProtobufBody, type OtlpRequest } from './schemas.ts'

const PROTOBUF = 'application/x-protobuf'
/** Records named in a partial success's message; the count covers the rest. */
const NAMED_REJECTIONS = 5
/**
 * The deepest a request's JSON may nest. Attributes may nest 32 levels
 * (validate.ts), and each AnyValue level takes four of JSON (value,
 * kvlistValue, values, the pair): this leaves room for that and the envelope.
 */
const MAX_DEPTH = 160

if (bodyAjv.getSchema(AnyValue.$id!) === undefined) bodyAjv.addSchema(AnyValue)
const validateRequest = bodyAjv.compile<OtlpRequest>(OtlpRequestSchema)

/** HTTP statuses as the gRPC codes a google.rpc.Status carries. */
function grpcCode (statusCode: number): number {
  switch (statusCode) {
    case 400: case 413: case 415: return 3 // INVALID_ARGUMENT
    case 401: return 16 // UNAUTHENTICATED
    case 403: return 7 // PERMISSION_DENIED
    case 404: return 5 // NOT_FOUND
    case 408: return 4 // DEADLINE_EXCEEDED
    case 429: return 8 // RESOURCE_EXHAUSTED
    case 503: return 14 // UNAVAILABLE
    default: return statusCode >= 500 ? 13 : 2 // INTERNAL, UNKNOWN
  }
}

function wantsProtobuf (request: FastifyRequest): boolean {
  return request.headers['content-type']?.split(';')[0]?.trim().toLowerCase() === PROTOBUF
}

/** A JSON request checked for depth, shape and types: a 400 naming the first problem when it is not one. */
function readJsonRequest (body: unknown): OtlpRequest {
  if (nestsDeeper(body, MAX_DEPTH)) {
    throw Errors.invalidRequest('body', `it nests deeper than ${MAX_DEPTH} levels`, [{ field: 'body', message: `nests deeper than ${MAX_DEPTH} levels` }])
  }
  if (!validateRequest(body)) {
    const issues = (validateRequest.errors ?? []).map((error) => ({
      field: ['body', ...error.instancePath.split('/').filter((part) => part !== '')].join('.'),
      message: error.message ?? 'is invalid'
    }))
    const first = issues[0]
    throw Errors.invalidRequest('body', first === undefined ? 'not an ExportLogsServiceRequest' : `${first.field} ${first.message}`, issues)
  }
  return body
}

/**
 * A protobuf request, decoded. Its types are the .proto's by construction,
 * and its depth within protobufjs' recursion limit, which keeps it within
 * MAX_DEPTH as JSON: of what the JSON schema checks, only the severity
 * number's range is left, refused as the schema refuses it in JSON.
 */
function readProtobufRequest (body: Buffer): DecodedRequest {
  let request: DecodedRequest
  try {
    request = decodeRequest(body)
  } catch (error) {
    if (error instanceof UndecodableProtobuf) throw Errors.invalidProtobuf(error.message)
    throw error
  }
  const bad = badSeverity(request)
  if (bad !== undefined) {
    const issue = { field: `body.${bad.path}`, message: bad.severityNumber < 0 ? 'must be >= 0' : 'must be <= 24' }
    throw Errors.invalidRequest('body', `${issue.field} ${issue.message}`, [issue])
  }
  return request
}

/** A partial success's message: the first rejected records, where they are, and why. */
function rejectionMessage (issues: RejectionBody[], pathOf: (index: number) => string, rejected: number): string {
  const named: string[] = []
  const seen = new Set<number>()
  for (const issue of issues) {
    if (seen.has(issue.index)) continue
    seen.add(issue.index)
    if (named.length === NAMED_REJECTIONS) break
    const field = issue.field === undefined ? '' : ` ${issue.field}`
    named.push(`${pathOf(issue.index)}:${field} ${issue.message} (${issue.code})`)
  }
  const more = rejected > named.length ? `; and ${rejected - named.length} more` : ''
  return `${rejected} log ${rejected === 1 ? 'record was' : 'records were'} rejected: ${named.join('; ')}${more}`
}

const otlpRoutes: FastifyPluginAsync = async (fastify) => {
  const { MAX_BATCH_ENTRIES, MAX_BODY_BYTES, MAX_ENTRY_FIELDS } = fastify.config

  /** Errors of a protobuf request go back as a protobuf google.rpc.Status, as OTLP/HTTP has them. */
  async function protobufErrors (request: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<unknown> {
    if (reply.statusCode < 400 || !wantsProtobuf(request) || typeof payload !== 'string') return payload
    let message = payload
    try {
      const error = JSON.parse(payload) as { code?: unknown, message?: unknown }
      if (typeof error.message === 'string') message = typeof error.code === 'string' ? `${error.code}: ${error.message}` : error.message
    } catch {
      // Not the JSON error shape: its text is the message.
    }
    reply.header('content-type', PROTOBUF)
    return encodeStatus(grpcCode(reply.statusCode), message)
  }

  /**
   * The request's records as checked entries, and what the answer says of
   * those refused. A function of its own so that the decoded request is
   * garbage once it returns: the write that follows can take a few hundred
   * milliseconds, and a thousand records' objects held across it were most
   * of what the service's old generation grew by.
   */
  async function checkRecords (body: unknown, defaults: EntryDefaults): Promise<{ valid: NormalizedEntry[], rejected: number, errorMessage?: string }> {
    const records = Buffer.isBuffer(body) ? protobufRecords(readProtobufRequest(body)) : jsonRecords(readJsonRequest(body))
    if (records.length > MAX_BATCH_ENTRIES) throw Errors.tooManyEntries(MAX_BATCH_ENTRIES)

    const { valid, issues } = await checkMappedEntries(records, defaults)
    const rejected = records.length - valid.length
    return {
      valid: valid.map(({ entry }) => entry),
      rejected,
      ...(rejected === 0 ? {} : { errorMessage: rejectionMessage(issues, (index) => records.path(index), rejected) })
    }
  }

  fastify.post('/v1/logs', {
    config: {
      scope: 'logs:write',
      protobufBody: true,
      // One JSON value holds the whole batch: as many fields as its entries may hold together.
      maxBodyFields: MAX_BATCH_ENTRIES * MAX_ENTRY_FIELDS
    },
    bodyLimit: MAX_BODY_BYTES,
    // Both encodings are checked in the handler: JSON against the schema, protobuf once decoded.
    validatorCompiler: () => () => true,
    onSend: protobufErrors,
    schema: {
      tags: ['logs'],
      summary: 'OTLP/HTTP logs (ExportLogsServiceRequest), JSON or protobuf',
      description: 'For OpenTelemetry exporters: application/json or application/x-protobuf, gzip accepted. Every record is ' +
        `mapped to a log entry (see the README) and checked as POST /api/v1/logs checks one; at most ${MAX_BATCH_ENTRIES} ` +
        'records and the body limit (after decompression) per request. 200 when the good records are stored; records ' +
        'refused are counted in partialSuccess. A record with no environment gets its client\'s default environment, else ' +
        `"${FALLBACK_ENVIRONMENT}"; one without a status attribute its client's default status, else "${FALLBACK_STATUS}". The answer to a ` +
        'protobuf request is protobuf: an ExportLogsServiceResponse, or a google.rpc.Status for an error. 429 and 503 carry Retry-After.',
      body: {
        content: {
          'application/json': { schema: OtlpRequestSchema },
          [PROTOBUF]: { schema: ProtobufBody }
        }
      },
      response: {
        200: OtlpResponse,
        ...errorResponses(...AUTHENTICATED_ERRORS, 413, 415)
      }
    }
  }, async (request, reply) => {
    const client = clientOf(request)
    const { valid, rejected, errorMessage } = await checkRecords(request.body, client.defaults)
    if (valid.length > 0) {
      await fastify.ingest.store(client, valid, { protocol: 'otlp', withLogs: false, rejected })
    } else if (rejected > 0) {
      fastify.ingest.reject(client, rejected, 'otlp')
    }

    const partialSuccess = errorMessage === undefined ? undefined : { rejectedLogRecords: rejected, errorMessage }
    if (wantsProtobuf(request)) {
      return await reply.header('content-type', PROTOBUF).send(encodeResponse(partialSuccess))
    }
    return partialSuccess === undefined ? {} : { partialSuccess: { ...partialSuccess, rejectedLogRecords: String(rejected) } }
  })
}

export default otlpRoutes
