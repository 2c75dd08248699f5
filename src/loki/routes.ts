// POST /loki/api/v1/push: Loki's push API, for Promtail, Grafana Alloy,
// Fluent Bit, Vector and logger transports (pino-loki, winston-loki), in
// JSON or in Snappy-compressed protobuf. Each entry is mapped to a native
// entry (map.ts) and judged by the native checks; the good ones are stored
// through fastify.ingest like any other ingest.
//
// A request that is not a push (it does not decode or parse, has the wrong
// shape or types, is too large) is refused whole, as Loki refuses it. An entry
// that cannot be stored is refused on its own, and the others are stored with
// a 204: shippers drop a batch answered 400 without retrying it (and some,
// winston-loki, send it again forever), so one bad line must not cost the
// rest, nor have them sent twice. The answer counts what was refused in a
// header, and usage counts it; only when no entry of the push can be stored
// is the answer a 400, so that a shipper whose every line is refused says so.
// Registered inside the authenticated scope: clientOf(request) is always set.
import type { FastifyPluginAsync, FastifyRequest } from 'fastify'
import { clientOf } from '../auth/client.ts'
import { nestsDeeper } from '../body/nesting.ts'
import { Errors } from '../errors.ts'
import { checkMappedEntries, type MappedEntries } from '../logs/check-entries.ts'
import type { EntryDefaults } from '../logs/logger-shapes.ts'
import type { RejectionBody } from '../logs/schemas.ts'
import type { NormalizedEntry } from '../logs/validate.ts'
import { FALLBACK_ENVIRONMENT, FALLBACK_STATUS } from '../logs/shipper-fallbacks.ts'
import { bodyAjv } from '../schemas/ajv.ts'
import { AUTHENTICATED_ERRORS, errorResponses } from '../schemas/errors.ts'
import { countJsonEntries, countProtobufEntries, jsonEntries, protobufEntries } from './map.ts'
import { decodePushRequest, UndecodablePushRequest } from './proto.ts'
import { LokiPushSchema, ProtobufPushBody, PushAccepted, type LokiPushJson } from './schemas.ts'
import { unsnappy } from './snappy.ts'

const PROTOBUF = 'application/x-protobuf'
/** The deepest a JSON push nests: the request, streams, a stream, its values, a value, its structured metadata. */
const MAX_DEPTH = 6
/** Refused entries named in an all-refused push's `details`. */
const NAMED_REJECTIONS = 100

const validatePush = bodyAjv.compile<LokiPushJson>(LokiPushSchema)

/** A JSON push checked for depth, shape and types: a 400 naming the first problem when it is not one. */
function readJsonPush (body: unknown): LokiPushJson {
  if (nestsDeeper(body, MAX_DEPTH)) {
    throw Errors.invalidRequest('body', `it nests deeper than a Loki push does (${MAX_DEPTH} levels)`, [{ field: 'body', message: `nests deeper than ${MAX_DEPTH} levels` }])
  }
  if (!validatePush(body)) {
    const issues = (validatePush.errors ?? []).map((error) => ({
      field: ['body', ...error.instancePath.split('/').filter((part) => part !== '')].join('.'),
      message: error.message ?? 'is invalid'
    }))
    const first = issues[0]
    throw Errors.invalidRequest('body', first === undefined ? 'not a Loki push request' : `${first.field} ${first.message}`, issues)
  }
  return body
}

/** A Snappy-compressed protobuf push, decompressed and decoded. */
async function readProtobufPush (block: Buffer, limit: number, hold: Parameters<typeof unsnappy>[2]): Promise<ReturnType<typeof decodePushRequest>> {
  const bytes = await unsnappy(block, limit, hold)
  try {
    return decodePushRequest(bytes)
  } catch (error) {
    if (error instanceof UndecodablePushRequest) throw Errors.invalidProtobuf(error.message, 'logproto.PushRequest (after Snappy decompression)')
    throw error
  }
}

/** Where the first refused entry is and why, as a header value: printable ASCII only. */
function firstRejection (issue: RejectionBody, entries: MappedEntries): string {
  const field = issue.field === undefined ? '' : ` ${issue.field}`
  const text = `${entries.path(issue.index)}:${field} ${issue.code}: ${issue.message}`
  return text.replace(/[^\x20-\x7e]/g, '?').slice(0, 512)
}

/** A push as checked: the entries to store, and what is refused. */
interface CheckedPush {
  valid: NormalizedEntry[]
  rejected: number
  /** Every entry refused: the answer. */
  allRefused?: Error
  /** Some refused: the first, for the answer's header. */
  firstRejected?: string
}

const lokiRoutes: FastifyPluginAsync = async (fastify) => {
  const { MAX_BATCH_ENTRIES, MAX_BODY_BYTES, MAX_ENTRY_FIELDS } = fastify.config

  /**
   * The push's entries as checked entries, and what the answer says of those
   * refused. A function of its own so that the decoded push is garbage once
   * it returns: the write that follows can take a few hundred milliseconds,
   * and a thousand entries' objects held across it were most of what the
   * service's old generation grew by.
   */
  async function checkPush (request: FastifyRequest, defaults: EntryDefaults): Promise<CheckedPush> {
    let entries: MappedEntries
    if (Buffer.isBuffer(request.body)) {
      const push = await readProtobufPush(request.body, MAX_BODY_BYTES, request.bodyHold)
      if (countProtobufEntries(push) > MAX_BATCH_ENTRIES) throw Errors.tooManyEntries(MAX_BATCH_ENTRIES)
      entries = protobufEntries(push)
    } else {
      const push = readJsonPush(request.body)
      if (countJsonEntries(push) > MAX_BATCH_ENTRIES) throw Errors.tooManyEntries(MAX_BATCH_ENTRIES)
      entries = jsonEntries(push)
    }

    const { valid, issues } = await checkMappedEntries(entries, defaults)
    const rejected = entries.length - valid.length
    if (rejected === 0) return { valid: valid.map(({ entry }) => entry), rejected }
    if (valid.length === 0) {
      return { valid: [], rejected, allRefused: Errors.invalidEntries(issues.slice(0, NAMED_REJECTIONS).map((issue) => ({ ...issue, path: entries.path(issue.index) }))) }
    }
    return { valid: valid.map(({ entry }) => entry), rejected, firstRejected: firstRejection(issues[0]!, entries) }
  }

  fastify.post('/loki/api/v1/push', {
    config: {
      scope: 'logs:write',
      protobufBody: true,
      // Vector marks its Snappy-compressed protobuf so; Promtail, Alloy and winston-loki send it unmarked.
      protobufEncodings: ['snappy'],
      // One JSON value holds the whole push: as many fields as its entries may hold together.
      maxBodyFields: MAX_BATCH_ENTRIES * MAX_ENTRY_FIELDS
    },
    bodyLimit: MAX_BODY_BYTES,
    // Both encodings are checked in the handler, protobuf once decompressed and decoded.
    validatorCompiler: () => () => true,
    schema: {
      tags: ['logs'],
      summary: 'Loki push API: JSON, or Snappy-compressed protobuf',
      description: 'For Loki clients (Promtail, Grafana Alloy, Fluent Bit, Vector, pino-loki, winston-loki): application/json ' +
        '(gzip accepted) or application/x-protobuf compressed with Snappy (block format). Every entry is mapped to a log entry ' +
        `(see the README) and checked as POST /api/v1/logs checks one; at most ${MAX_BATCH_ENTRIES} entries and the body limit ` +
        '(after decompression) per request. 204 when stored; entries refused on their own are counted in X-Rejected-Entries ' +
        'while the others are stored, and only a push none of whose entries can be stored is a 400 (invalid_entries). An entry ' +
        `with no environment gets its client's default environment, else "${FALLBACK_ENVIRONMENT}"; one without a status its ` +
        `client's default status, else "${FALLBACK_STATUS}". 429 and 503 carry Retry-After.`,
      body: {
        content: {
          'application/json': { schema: LokiPushSchema },
          [PROTOBUF]: { schema: ProtobufPushBody }
        }
      },
      response: {
        204: PushAccepted,
        ...errorResponses(...AUTHENTICATED_ERRORS, 413, 415)
      }
    }
  }, async (request, reply) => {
    const client = clientOf(request)
    const { valid, rejected, allRefused, firstRejected } = await checkPush(request, client.defaults)
    if (allRefused !== undefined) {
      fastify.ingest.reject(client, rejected, 'loki')
      throw allRefused
    }
    if (valid.length > 0) {
      await fastify.ingest.store(client, valid, { protocol: 'loki', withLogs: false, rejected })
    }
    if (firstRejected !== undefined) {
      void reply.header('x-rejected-entries', String(rejected)).header('x-first-rejection', firstRejected)
    }
    return await reply.code(204).send()
  })
}

export default lokiRoutes
