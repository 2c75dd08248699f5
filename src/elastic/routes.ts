// Elasticsearch's bulk API, for its clients and the shippers that speak it
// (the @elastic/elasticsearch client, Filebeat, Logstash, Fluent Bit,
// Vector): POST /_bulk and POST /{index}/_bulk, and what they ask when they
// connect (GET /, GET /_license). Each document of an index or create action
// is mapped to a native entry (document.ts) and judged by the native checks;
// the good ones are stored through fastify.ingest like any other ingest, and
// every item is answered as Elasticsearch answers it, so that the clients
// retry what may be retried (429) and report the rest.
// Registered inside the authenticated scope: clientOf(request) is always set.
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import { clientOf } from '../auth/client.ts'
import type { Payload, ReceivedEntries } from '../body/read-entries.ts'
import { Errors, HttpError } from '../errors.ts'
import { checkEntries } from '../logs/check-entries.ts'
import type { RejectionBody } from '../logs/schemas.ts'
import type { StoredEntry } from '../logs/tenant-logs.ts'
import { AUTHENTICATED_ERRORS } from '../schemas/errors.ts'
import { BULK_MEDIA_TYPES, readBulkLines } from './bulk-body.ts'
import { FALLBACK_ENVIRONMENT, FALLBACK_STATUS } from '../logs/shipper-fallbacks.ts'
import { INDEX_ATTRIBUTE, toEntry } from './document.ts'
import { operationsOf, type BulkOperation, type ItemError } from './operations.ts'
import { PROBE, PROBE_CONSTRAINT_NAME, probeConstraint } from './probe.ts'
import { BulkResponse, ElasticErrorResponse, LicenseResponse, RootResponse, type BulkItemResultBody } from './schemas.ts'

/** The version reported: recent enough that clients and shippers of 8.x and 9.x send to it. */
const VERSION = {
  number: '9.0.0',
  build_flavor: 'default',
  build_type: 'central-logger',
  build_hash: 'central-logger',
  build_date: '2025-04-08T00:00:00.000Z',
  build_snapshot: false,
  lucene_version: '10.1.0',
  minimum_wire_compatibility_version: '8.18.0',
  minimum_index_compatibility_version: '8.0.0'
}

const ROOT = {
  name: 'central-logger',
  cluster_name: 'central-logger',
  cluster_uuid: 'central-logger',
  version: VERSION,
  tagline: 'You Know, for Search'
}

const LICENSE = {
  license: {
    status: 'active',
    uid: '00000000-0000-0000-0000-000000000000',
    type: 'basic',
    mode: 'basic',
    issue_date_in_millis: 0,
    issued_to: 'central-logger',
    issuer: 'central-logger'
  }
}

const SHARDS = { total: 1, successful: 1, failed: 0 }

/** The error answers of these routes: this service's error shape, with Elasticsearch's `status`. */
function elasticErrors (...codes: number[]): Record<number, typeof ElasticErrorResponse> {
  return Object.fromEntries(codes.map((code) => [code, ElasticErrorResponse]))
}

function isErrorBody (payload: unknown): payload is Record<string, unknown> {
  return typeof payload === 'object' && payload !== null && 'statusCode' in payload && 'code' in payload
}

/** Fields of a native entry as the document named them; unnamed ones are the document's own (inside attributes). */
function documentField (field: string, origins: Record<string, string> | undefined): string {
  const named = origins?.[field]
  if (named !== undefined) return named
  if (field === 'attributes') return '_source'
  return field.startsWith('attributes.') ? field.slice('attributes.'.length) : field
}

/** A document's refusal, as Elasticsearch reports a document it cannot map. */
function documentError (issue: RejectionBody, origins: Record<string, string> | undefined): ItemError {
  const reason = issue.field === undefined
    ? (issue.message.startsWith('failed to parse') ? issue.message : `failed to parse: ${issue.message}`)
    : `failed to parse field [${documentField(issue.field, origins)}]: ${issue.message}`
  return { status: 400, type: 'mapper_parsing_exception', reason }
}

function refusedItem (index: string, id: string | null, error: ItemError): BulkItemResultBody {
  return { _index: index, _id: id, status: error.status, error: { type: error.type, reason: error.reason, index } }
}

const elasticRoutes: FastifyPluginAsync = async (fastify) => {
  const { MAX_BATCH_ENTRIES, MAX_BODY_BYTES, MAX_ENTRY_FIELDS } = fastify.config
  fastify.addConstraintStrategy(probeConstraint)

  // Every answer of these routes says it is Elasticsearch's: the JS client refuses one that does not, and errors
  // carry Elasticsearch's `status` beside this service's shape.
  fastify.addHook('preSerialization', async (_request: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    return reply.statusCode >= 400 && isErrorBody(payload) ? { ...payload, status: reply.statusCode } : payload
  })
  fastify.addHook('onSend', async (_request: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    reply.header('x-elastic-product', 'Elasticsearch')
    return payload
  })

  // A bulk body is lines, whatever JSON type it is sent as (these parsers are this scope's own).
  const limits = { maxDocuments: MAX_BATCH_ENTRIES, maxFields: MAX_ENTRY_FIELDS }
  for (const type of BULK_MEDIA_TYPES) {
    if (fastify.hasContentTypeParser(type)) fastify.removeContentTypeParser(type)
    fastify.addContentTypeParser(type, async (request: FastifyRequest, payload: Payload) => await readBulkLines(request, payload, limits))
  }

  async function bulk (request: FastifyRequest, reply: FastifyReply): Promise<unknown> {
    const client = clientOf(request)
    const lines = request.body as ReceivedEntries | undefined
    if (lines === undefined || lines.length === 0) throw Errors.emptyBatch()
    const operations = await operationsOf(lines, (request.params as { index?: string }).index, MAX_BATCH_ENTRIES)
    const documents = operations.filter((operation) => operation.refusal === undefined)

    const receivedAt = new Date()
    const origins: Array<Record<string, string>> = []
    // Each document is parsed and mapped as it is checked, within checkEntries' slices of time.
    const { valid, issues } = await checkEntries({
      single: false,
      length: documents.length,
      entry: (index) => {
        const operation = documents[index]!
        const mapped = toEntry(lines.entry(operation.documentAt!), { index: operation.index!, id: operation.id }, receivedAt, client.defaults)
        origins[index] = mapped.origins
        return mapped.entry
      }
    })
    const refused = new Map<number, ItemError>()
    for (const issue of issues) if (!refused.has(issue.index)) refused.set(issue.index, documentError(issue, origins[issue.index]))

    const rejected = operations.length - valid.length
    let stored: StoredEntry[] = []
    let overLimit: HttpError | undefined
    if (valid.length > 0) {
      try {
        stored = await fastify.ingest.store(client, valid.map(({ entry }) => entry), { protocol: 'elasticsearch', withLogs: false, rejected })
      } catch (error) {
        // Over the client's ingest volume for this minute: each document is refused as Elasticsearch refuses one it is
        // too busy for (429), which its clients retry, rather than the whole request, which some give up on.
        if (!(error instanceof HttpError) || error.statusCode !== 429) throw error
        overLimit = error
        // In usage only: the metrics counted these entries as the refusal happened.
        fastify.usage.count(client.id, { logs_rejected: operations.length, rate_limited: 1 })
      }
    } else {
      fastify.ingest.reject(client, rejected, 'elasticsearch')
    }

    const storedAt = new Map(valid.map(({ index }, at) => [index, at]))
    let document = 0
    const items = operations.map((operation: BulkOperation) => {
      const index = operation.index ?? ''
      if (operation.refusal !== undefined) return { [operation.action]: refusedItem(index, operation.id ?? null, operation.refusal) }
      const at = document++
      const error = refused.get(at)
      if (error !== undefined) return { [operation.action]: refusedItem(index, operation.id ?? null, error) }
      const place = storedAt.get(at)!
      const eventId = valid[place]!.entry.event_id
      if (overLimit !== undefined) {
        return { [operation.action]: refusedItem(index, eventId, { status: 429, type: 'es_rejected_execution_exception', reason: overLimit.message }) }
      }
      const result = stored[place]!
      const id = eventId ?? result.id
      if (!result.duplicate) {
        return { [operation.action]: { _index: index, _id: id, _version: 1, result: 'created', _shards: SHARDS, _seq_no: 0, _primary_term: 1, status: 201 } }
      }
      // Stored before: a create is refused as a conflict, which shippers count as a duplicate and never retry; an
      // index, which would replace the document in Elasticsearch, is answered as done without a change.
      if (operation.action === 'create') {
        return {
          create: refusedItem(index, id, {
            status: 409,
            type: 'version_conflict_engine_exception',
            reason: `[${id}]: version conflict, document already exists (current version [1])`
          })
        }
      }
      return { [operation.action]: { _index: index, _id: id, _version: 1, result: 'noop', _shards: SHARDS, _seq_no: 0, _primary_term: 1, status: 200 } }
    })
    const errors = items.some((item) => Object.values(item)[0]!.status >= 400)
    return { took: Math.round(reply.elapsedTime), errors, items }
  }

  const bulkSchema = (path: string) => ({
    tags: ['elasticsearch'],
    summary: `Elasticsearch bulk: index and create actions${path === '' ? '' : ', into the index of the path'}`,
    description: 'For Elasticsearch clients and shippers: NDJSON of action and document lines, as application/x-ndjson, ' +
      'application/json or application/vnd.elasticsearch+x-ndjson, gzip accepted. Each document of an index or create action ' +
      'is mapped to a log entry (see the README) and checked as POST /api/v1/logs checks one; its index is kept in the ' +
      `attribute ${INDEX_ATTRIBUTE}. At most ${MAX_BATCH_ENTRIES} actions and the body limit (after decompression) per ` +
      'request. 200 with one item per action, in order: 201 stored; a create whose _id was stored before 409; an index whose ' +
      '_id was stored before 200 (result noop); a document refused by the checks 400 (mapper_parsing_exception naming the ' +
      'field); update, delete and other actions 400; over the client\'s ingest limit for the minute 429, which clients retry. ' +
      `A document with no environment gets its client's default environment, else "${FALLBACK_ENVIRONMENT}"; one with no ` +
      `status its client's default status, else "${FALLBACK_STATUS}". Query parameters (refresh, pipeline, filter_path…) are ` +
      'accepted and ignored. Every answer carries x-elastic-product: Elasticsearch.',
    ...(path === '' ? {} : { params: { type: 'object', properties: { index: { type: 'string', description: 'The index for actions that name none.' } } } }),
    body: {
      content: Object.fromEntries(BULK_MEDIA_TYPES.map((type) => [type, { schema: { type: 'string', description: 'NDJSON: action and document lines.' } }]))
    },
    response: {
      200: BulkResponse,
      ...elasticErrors(...AUTHENTICATED_ERRORS, 413, 415)
    }
  })

  for (const path of ['', '/:index']) {
    fastify.route({
      method: ['POST', 'PUT'],
      url: `${path}/_bulk`,
      config: { scope: 'logs:write' },
      bodyLimit: MAX_BODY_BYTES,
      // The body is lines, read and judged in the handler; query parameters of Elasticsearch's are ignored.
      validatorCompiler: () => () => true,
      schema: bulkSchema(path),
      handler: bulk
    })
  }

  fastify.get('/', {
    constraints: { [PROBE_CONSTRAINT_NAME]: PROBE },
    config: { scope: 'logs:write' },
    schema: {
      tags: ['elasticsearch'],
      summary: 'Elasticsearch\'s version answer, for clients and shippers connecting',
      description: 'Answered to a request that carries a key or does not ask for text/html (a browser opening the page is ' +
        'not answered here). Needs a key with logs:write, as the bulk routes do.',
      response: { 200: RootResponse, ...elasticErrors(...AUTHENTICATED_ERRORS) }
    }
  }, async () => ROOT)

  fastify.get('/_license', {
    config: { scope: 'logs:write' },
    schema: {
      tags: ['elasticsearch'],
      summary: 'An active basic license, which Filebeat and Logstash check for when they connect',
      querystring: { type: 'object', properties: { human: { type: 'boolean' }, accept_enterprise: { type: 'boolean' } } },
      response: { 200: LicenseResponse, ...elasticErrors(...AUTHENTICATED_ERRORS) }
    }
  }, async () => LICENSE)
}

export default elasticRoutes
