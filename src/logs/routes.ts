// POST /api/v1/logs (ingest), GET /api/v1/logs (query) and GET /api/v1/logs/:id.
// Registered inside the authenticated scope: clientOf(request) is always set.
import type { FastifyPluginAsync } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { Kysely } from 'kysely'
import { Errors } from '../errors.ts'
import { serviceSecret } from '../db/service-secrets.ts'
import type { Database } from '../db/schema.ts'
import { textAjv } from '../schemas/ajv.ts'
import { AUTHENTICATED_ERRORS, errorResponses } from '../schemas/errors.ts'
import { responseSerializers } from '../schemas/serialize.ts'
import { CursorCodec } from './cursor.ts'
import { present, presentText } from './present.ts'
import { logFilters } from './filters.ts'
import { BatchResult, IngestBody, IngestQuery, ListQuery, LogByIdQuery, LogIdParams, LogPage, StoredLog, type RejectionBody } from './schemas.ts'
import { logsOf, type PublicLog } from './tenant-logs.ts'
import { queryLimitsDescription } from '../queries/runner.ts'
import { checkEntries, entrySource } from './check-entries.ts'
import { clientOf } from '../auth/client.ts'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

const logsRoutes: FastifyPluginAsync = async (app) => {
  const fastify = app.withTypeProvider<TypeBoxTypeProvider>()
  const cursors = new CursorCodec(await serviceSecret(fastify.db, 'cursor'))
  const maxEntries = fastify.config.MAX_BATCH_ENTRIES

  fastify.post('/api/v1/logs', {
    config: { scope: 'logs:write', logEntries: true },
    bodyLimit: fastify.config.MAX_BODY_BYTES,
    // Its entries are checked one by one in the handler (so that each bad entry is reported by
    // index and ?partial=true can keep the good ones): the body schema documents the API.
    validatorCompiler: ({ schema, httpPart }) => httpPart === 'body' ? () => true : textAjv.compile(schema),
    // The answer is one of two shapes: told apart by a property, not by validating each on every response.
    serializerCompiler: responseSerializers,
    schema: {
      tags: ['logs'],
      summary: 'Ingest one log entry or a batch',
      description: `A single object answers with the stored log; an array or NDJSON with a summary. At most ${maxEntries} entries ` +
        'and the body limit (after decompression) per request. A batch is atomic unless ?partial=true. ' +
        'What common loggers send is read too: {"logs": [...]} is a batch, a body without Content-Type is NDJSON, a form-encoded ' +
        'body (Python\'s HTTPHandler) one entry; msg, time, timestamp, @timestamp, created, severity, levelname and level names ' +
        'and numbers of npm, syslog, Python and pino are mapped, and the client\'s defaults fill a missing environment or status ' +
        '(see the README). ?success_status=200 answers a success 200 instead of 201, for clients that take no other. ' +
        'Per client and minute, entries and their counted bytes (text fields and attributes as stored) are limited: ' +
        '429 ingest_rate_limited or ingest_bytes_rate_limited with Retry-After (nothing stored), 413 batch_over_ingest_limit or ' +
        'batch_over_ingest_bytes_limit for a request that could never fit. A client at or over its storage quota gets ' +
        '403 storage_quota_exceeded, which retrying will not cure.',
      querystring: IngestQuery,
      body: IngestBody,
      response: {
        201: Type.Union([StoredLog, BatchResult]),
        200: Type.Union([StoredLog, BatchResult], { description: 'The same answer, with ?success_status=200.' }),
        ...errorResponses(...AUTHENTICATED_ERRORS, 413, 415)
      }
    }
  }, async (request, reply) => {
    const client = clientOf(request)
    const raw = entrySource(request.body)
    const single = raw.single
    if (raw.length === 0) throw Errors.emptyBatch()
    // The body parser stops at the first entry past the limit; this holds whatever parsed the body.
    if (raw.length > maxEntries) throw Errors.tooManyEntries(maxEntries)

    const { valid, issues } = await checkEntries(raw, client.defaults)
    const partial = request.query.partial === true && !single
    if (issues.length > 0 && !partial) {
      fastify.ingest.reject(client, raw.length, 'native')
      throw Errors.invalidEntries(issues)
    }

    const entries = valid.map(({ entry }) => entry)
    const stored = await fastify.ingest.store(client, entries, { protocol: 'native', withLogs: single, rejected: raw.length - valid.length })
    const duplicates = stored.filter((result) => result.duplicate).length
    reply.code(request.query.success_status ?? 201)

    if (single) {
      const [result] = stored
      if (result?.log === undefined) throw new Error('the stored log was not returned')
      if (result.duplicate) reply.header('idempotent-replayed', 'true')
      return present(result.log)
    }

    const ids: Array<string | null> = Array.from({ length: raw.length }, () => null)
    valid.forEach(({ index }, position) => { ids[index] = stored[position]!.id })
    return {
      accepted: stored.length - duplicates,
      duplicates,
      ids,
      ...(partial ? { rejected: firstIssuePerEntry(issues) } : {})
    }
  })

  fastify.get('/api/v1/logs', {
    config: { scope: 'logs:read' },
    schema: {
      tags: ['logs'],
      summary: 'List the caller\'s logs, newest first, with keyset pagination',
      description: 'A page ends at limit rows, or earlier, before the row that would take its text fields and attributes ' +
        `past ${fastify.config.MAX_PAGE_BYTES} bytes (a row larger than that is a page of its own): a page may hold fewer ` +
        `than limit rows and still have a next_cursor; follow next_cursor until it is null. ${queryLimitsDescription(fastify.config)}`,
      querystring: ListQuery,
      response: { 200: LogPage, ...errorResponses(...AUTHENTICATED_ERRORS) }
    }
  }, async (request) => {
    const { query } = request
    const client = clientOf(request)
    const cursor = query.cursor === undefined ? undefined : cursors.decode(query.cursor, client.id, query.order)
    const filters = {
      ...logFilters(query),
      order: query.order,
      limit: query.limit,
      maxBytes: fastify.config.MAX_PAGE_BYTES,
      after: cursor === undefined ? undefined : { executedAt: cursor.executedAt, id: cursor.id }
    }
    // A next page is read where every row its cursor's page saw is: on a replica that lags, a page after
    // one read on the primary (or a fresher replica) would miss rows committed in between.
    const placed = await fastify.queries.runAfter(request, cursor === undefined ? undefined : { seen: cursor.seen },
      // Times come as the API writes them, made by PostgreSQL: no Date parsed and formatted again per row.
      async (db) => await logsOf(db, client).listText(filters))
    const { rows, more, last } = placed.value
    return {
      data: rows.map(presentText),
      next_cursor: more && last !== undefined ? cursors.encode(client.id, query.order, last, placed.seen) : null
    }
  })

  fastify.get('/api/v1/logs/:id', {
    config: { scope: 'logs:read' },
    schema: {
      tags: ['logs'],
      summary: 'One log by id (404 when it does not exist or belongs to another client)',
      description: queryLimitsDescription(fastify.config),
      params: LogIdParams,
      querystring: LogByIdQuery,
      response: { 200: StoredLog, ...errorResponses(...AUTHENTICATED_ERRORS, 404) }
    }
  }, async (request) => {
    const { id } = request.params
    // A malformed id cannot exist: the same 404, without asking the database.
    if (!UUID.test(id)) throw Errors.notFound('Log')
    const get = async (db: Kysely<Database>): Promise<PublicLog | undefined> => await logsOf(db, clientOf(request)).get(id)
    // A log acknowledged a moment ago may not have reached the replica yet: not found there, it is looked for on the primary.
    const log = await fastify.queries.runOnReplica(request, get) ?? (fastify.queries.replicated ? await fastify.queries.run(request, get) : undefined)
    if (log === undefined) throw Errors.notFound('Log')
    return present(log)
  })
}

function firstIssuePerEntry (issues: RejectionBody[]): RejectionBody[] {
  const seen = new Set<number>()
  return issues.filter((issue) => !seen.has(issue.index) && seen.add(issue.index))
}

export default logsRoutes
