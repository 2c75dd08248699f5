// POST /api/v1/logs (ingest), GET /api/v1/logs (query) and GET /api/v1/logs/:id.
// Registered inside the authenticated scope: request.client is always set.
import type { FastifyPluginAsync } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import AjvModule from 'ajv'
import addFormatsModule from 'ajv-formats'
import { Errors } from '../errors.ts'
import { serviceSecret } from '../db/service-secrets.ts'
import { REQUEST_AJV_OPTIONS } from '../schemas/ajv.ts'
import { AUTHENTICATED_ERRORS, errorResponses } from '../schemas/errors.ts'
import { CursorCodec } from './cursor.ts'
import { present } from './present.ts'
import { timeFilter } from './time.ts'
import { BatchResult, IngestBody, IngestQuery, ListQuery, LogByIdQuery, LogIdParams, LogPage, StoredLog, type RejectionBody } from './schemas.ts'
import { logsOf } from './tenant-logs.ts'
import { MemoryIngestBudget, RedisIngestBudget, type IngestBudget } from './ingest-budget.ts'
import type { AuthenticatedClient } from '../keys/resolver.ts'
import { checkEntries, entrySource } from './check-entries.ts'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

// The ingest route checks its entries one by one in the handler (so that each
// bad entry is reported by index and ?partial=true can keep the good ones):
// its body schema documents the API, and this compiler checks the query only.
const queryAjv = new AjvModule.default({ ...REQUEST_AJV_OPTIONS, strict: false })
addFormatsModule.default(queryAjv)

const logsRoutes: FastifyPluginAsync = async (app) => {
  const fastify = app.withTypeProvider<TypeBoxTypeProvider>()
  const cursors = new CursorCodec(await serviceSecret(fastify.db, 'cursor'))
  const maxEntries = fastify.config.MAX_BATCH_ENTRIES
  const budget: IngestBudget = fastify.redis === undefined
    ? new MemoryIngestBudget()
    : new RedisIngestBudget(fastify.redis, (error) => { fastify.log.debug({ err: error }, 'ingest volume not counted: Redis unreachable') })

  /** The entries from the client's per-minute ingest volume, or the 429 (413 for a request that can never fit). */
  async function takeIngestBudget (client: AuthenticatedClient, entries: number): Promise<{ refund: () => Promise<void> }> {
    const limit = client.ingestRateLimit ?? fastify.config.INGEST_RATE_LIMIT
    if (entries > limit) throw Errors.batchOverIngestLimit(entries, limit)
    const decision = await budget.take(client.id, entries, limit)
    if (!decision.ok) throw Errors.ingestRateLimited(entries, limit, decision.used, decision.retryAfterSeconds)
    return decision
  }

  fastify.post('/api/v1/logs', {
    config: { scope: 'logs:write', logEntries: true },
    bodyLimit: fastify.config.MAX_BODY_BYTES,
    validatorCompiler: ({ schema, httpPart }) => httpPart === 'body' ? () => true : queryAjv.compile(schema),
    schema: {
      tags: ['logs'],
      summary: 'Ingest one log entry or a batch',
      description: `A single object answers with the stored log; an array or NDJSON with a summary. At most ${maxEntries} entries ` +
        'and the body limit (after decompression) per request. A batch is atomic unless ?partial=true.',
      querystring: IngestQuery,
      body: IngestBody,
      response: {
        201: Type.Union([StoredLog, BatchResult]),
        ...errorResponses(...AUTHENTICATED_ERRORS, 413, 415)
      }
    }
  }, async (request, reply) => {
    const raw = entrySource(request.body)
    const single = raw.single
    if (raw.length === 0) throw Errors.emptyBatch()
    // The body parser stops at the first entry past the limit; this holds whatever parsed the body.
    if (raw.length > maxEntries) throw Errors.tooManyEntries(maxEntries)

    const { valid, issues } = await checkEntries(raw)
    const partial = request.query.partial === true && !single
    if (issues.length > 0 && !partial) {
      fastify.usage.count(request.client.id, { logs_rejected: raw.length })
      throw Errors.invalidEntries(issues)
    }

    const taken = await takeIngestBudget(request.client, valid.length)
    let stored
    try {
      stored = await logsOf(fastify.db, request.client).insert(valid.map(({ entry }) => entry), { withLogs: single })
    } catch (error) {
      await taken.refund()
      throw error
    }
    const duplicates = stored.filter((result) => result.duplicate).length
    fastify.usage.count(request.client.id, {
      logs_accepted: stored.length - duplicates,
      logs_duplicates: duplicates,
      logs_rejected: raw.length - valid.length
    })
    reply.code(201)

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
      querystring: ListQuery,
      response: { 200: LogPage, ...errorResponses(...AUTHENTICATED_ERRORS) }
    }
  }, async (request) => {
    const { query, client } = request
    const after = query.cursor === undefined ? undefined : cursors.decode(query.cursor, client.id, query.order)
    const { rows, more } = await logsOf(fastify.db, client).list({
      from: timeFilter(query.from, 'from'),
      to: timeFilter(query.to, 'to'),
      status: query.status?.toUpperCase(),
      level: query.level,
      environment: query.environment,
      workflow_id: query.workflow_id,
      run_id: query.run_id,
      q: query.q,
      order: query.order,
      limit: query.limit,
      after
    })
    const last = rows.at(-1)
    return {
      data: rows.map(present),
      next_cursor: more && last !== undefined ? cursors.encode(client.id, query.order, { executedAt: last.executed_at, id: last.id }) : null
    }
  })

  fastify.get('/api/v1/logs/:id', {
    config: { scope: 'logs:read' },
    schema: {
      tags: ['logs'],
      summary: 'One log by id (404 when it does not exist or belongs to another client)',
      params: LogIdParams,
      querystring: LogByIdQuery,
      response: { 200: StoredLog, ...errorResponses(...AUTHENTICATED_ERRORS, 404) }
    }
  }, async (request) => {
    const { id } = request.params
    // A malformed id cannot exist: the same 404, without asking the database.
    const log = UUID.test(id) ? await logsOf(fastify.db, request.client).get(id) : undefined
    if (log === undefined) throw Errors.notFound('Log')
    return present(log)
  })
}

/** A from/to filter as a Date. */

function firstIssuePerEntry (issues: RejectionBody[]): RejectionBody[] {
  const seen = new Set<number>()
  return issues.filter((issue) => !seen.has(issue.index) && seen.add(issue.index))
}

export default logsRoutes
