// The official Elasticsearch client (@elastic/elasticsearch) against the
// service on a real socket, configured as its documentation says (node, and
// the key as auth.apiKey): its bulk helper and client.bulk store logs that
// are read back through GET /api/v1/logs, and every refusal reaches it in the
// shape it acts on: items of 429 retried and then dropped, other refused
// items reported through onDrop, whole-request errors thrown as ResponseError.
import { Client, errors } from '@elastic/elasticsearch'
import type { FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import { revokeKey } from '../../src/keys/lifecycle.ts'
import type { StoredLogBody } from '../../src/logs/schemas.ts'
import { EVERY_CLIENT } from '../../src/provider/every-client.ts'
import { buildTestApp, countLogs, issueKey, loopbackPort } from '../helper.ts'

/** The app on a real socket. */
async function listening (t: Test, env: Record<string, string> = {}, ingestClock?: () => number): Promise<{ app: FastifyInstance, base: string }> {
  const { app } = await buildTestApp(t, env, ingestClock === undefined ? {} : { ingestClock })
  return { app, base: `http://127.0.0.1:${await loopbackPort(app)}` }
}

function clientFor (t: Test, base: string, apiKey: string): Client {
  const client = new Client({ node: base, auth: { apiKey } })
  t.teardown(async () => { await client.close() })
  return client
}

async function listLogs (app: FastifyInstance, apiKey: string): Promise<StoredLogBody[]> {
  const res = await app.inject({ method: 'GET', url: '/api/v1/logs?order=asc&limit=1000', headers: { 'x-api-key': apiKey } })
  return res.json<{ data: StoredLogBody[] }>().data
}

interface Dropped { status: number, error: { type?: string, reason?: string } | null, document: Record<string, unknown> }

void t.test('the bulk helper\'s documents are stored with their fields, and only the sender\'s tenant sees them', async (t) => {
  const { app, base } = await listening(t)
  const a = await issueKey(app, 'acme')
  const b = await issueKey(app, 'globex')
  const client = clientFor(t, base, a.apiKey)
  const dropped: Dropped[] = []
  const stats = await client.helpers.bulk({
    datasource: [
      {
        '@timestamp': '2026-11-20T10:00:00.123Z',
        message: 'load failed',
        log: { level: 'WARNING', logger: 'etl.load' },
        'service.name': 'nightly-etl',
        trace: { id: '4bf92f3577b34da6a3ce929d0e0e4736' },
        'event.id': 'evt-1',
        'deployment.environment': 'production',
        'event.outcome': 'failure',
        workflow_id: 'nightly',
        run_id: 'run-7',
        duration_ms: 1500,
        host: { name: 'worker-3' },
        'http.status': 502
      },
      { '@timestamp': 1795169400000, message: 'epoch milliseconds', level: 'crit' },
      { message: 'no time at all', 'log.level': 'verbose-ish' }
    ],
    onDocument: () => ({ create: { _index: 'app-logs' } }),
    onDrop: (doc) => { dropped.push(doc as unknown as Dropped) }
  })
  t.same(dropped, [], 'nothing dropped')
  t.match(stats, { total: 3, successful: 3, failed: 0 })

  const logs = await listLogs(app, a.apiKey)
  t.equal(logs.length, 3)
  t.match(logs.find((log) => log.message === 'load failed'), {
    executed_at: '2026-11-20T10:00:00.123Z',
    level: 'warn',
    workflow_name: 'nightly-etl',
    trace_id: '4bf92f3577b34da6a3ce929d0e0e4736',
    event_id: 'evt-1',
    environment: 'production',
    status: 'FAILURE',
    workflow_id: 'nightly',
    run_id: 'run-7',
    duration_ms: 1500
  })
  t.same(logs.find((log) => log.message === 'load failed')?.attributes,
    { _index: 'app-logs', log: { logger: 'etl.load' }, host: { name: 'worker-3' }, 'http.status': 502 },
    'what is not mapped stays as sent, dotted or nested, beside the index')
  t.match(logs.find((log) => log.message === 'epoch milliseconds'), {
    executed_at: new Date(1795169400000).toISOString(), level: 'fatal', environment: 'default', status: 'UNKNOWN'
  })
  const untimed = logs.find((log) => log.message === 'no time at all')
  t.ok(untimed !== undefined && Math.abs(Date.parse(untimed.executed_at) - Date.now()) < 60_000, 'a document without a time gets the time of receipt')
  t.match(untimed, { level: 'info', attributes: { 'log.level': 'verbose-ish' } }, 'a level of no known name is info, and kept as sent')
  t.same(await listLogs(app, b.apiKey), [], 'tenant B sees none of them')
})

void t.test('client.bulk: an _id is the idempotency key; a create sent again is a conflict, an index a noop', async (t) => {
  const { app, base } = await listening(t)
  const { apiKey } = await issueKey(app, 'acme')
  const client = clientFor(t, base, apiKey)
  const operations = [
    { create: { _index: 'app-logs', _id: 'doc-1' } }, { message: 'first', '@timestamp': '2026-11-20T10:00:00Z' },
    { index: { _id: 'doc-2' } }, { message: 'second', '@timestamp': '2026-11-20T10:00:01Z' }
  ]
  const first = await client.bulk({ index: 'path-index', operations })
  t.equal(first.errors, false)
  t.match(first.items, [
    { create: { _index: 'app-logs', _id: 'doc-1', status: 201, result: 'created', _version: 1 } },
    { index: { _index: 'path-index', _id: 'doc-2', status: 201, result: 'created' } }
  ])
  const again = await client.bulk({ index: 'path-index', operations })
  t.equal(again.errors, true, 'a conflict is an error, as Elasticsearch has it')
  t.match(again.items, [
    { create: { _id: 'doc-1', status: 409, error: { type: 'version_conflict_engine_exception' } } },
    { index: { _id: 'doc-2', status: 200, result: 'noop' } }
  ])
  t.equal(await countLogs(app), 2, 'each _id stored once')
  t.same((await listLogs(app, apiKey)).map((log) => [log.event_id, log.attributes?._index]), [['doc-1', 'app-logs'], ['doc-2', 'path-index']])

  // The helper sent the same again: the conflict is reported once, not retried.
  const dropped: Dropped[] = []
  await client.helpers.bulk({
    datasource: [{ message: 'first' }],
    onDocument: () => ({ create: { _index: 'app-logs', _id: 'doc-1' } }),
    onDrop: (doc) => { dropped.push(doc as unknown as Dropped) },
    wait: 10
  })
  t.match(dropped, [{ status: 409, error: { type: 'version_conflict_engine_exception' } }])
  t.equal(await countLogs(app), 2)
})

void t.test('update, delete and bad documents are refused item by item, the others stored', async (t) => {
  const { app, base } = await listening(t)
  const { apiKey } = await issueKey(app, 'acme')
  const client = clientFor(t, base, apiKey)
  const answer = await client.bulk({
    operations: [
      { index: { _index: 'app-logs' } }, { message: 'kept' },
      { update: { _index: 'app-logs', _id: 'x' } }, { doc: { message: 'changed' } },
      { delete: { _index: 'app-logs', _id: 'y' } },
      { create: { _index: 'app-logs' } }, { message: 42 },
      { create: { _index: 'app-logs' } }, { '@timestamp': 'yesterday', message: 'bad time' },
      { create: { _index: 'app-logs' } }, { message: 'bad level of nesting', deep: JSON.parse('{"a":'.repeat(40) + '1' + '}'.repeat(40)) as unknown },
      { create: { _index: 'app-logs', _id: 'x'.repeat(200) } }, { message: 'long id' },
      { create: {} }, { message: 'no index' },
      { create: { _index: 'app-logs' } }, { message: 'also kept', environment: 'staging', status: 'success' }
    ]
  })
  t.equal(answer.errors, true)
  const items = answer.items.map((item) => Object.entries(item)[0]!)
  t.same(items.map(([action, result]) => [action, result.status]), [
    ['index', 201], ['update', 400], ['delete', 400], ['create', 400], ['create', 400], ['create', 400], ['create', 400], ['create', 400], ['create', 201]
  ])
  t.match(items[1]![1].error, { type: 'illegal_argument_exception', reason: /update action is not supported/ })
  t.match(items[2]![1].error, { type: 'illegal_argument_exception', reason: /delete action is not supported/ })
  t.match(items[3]![1].error, { type: 'mapper_parsing_exception', reason: /field \[message\]/ })
  t.match(items[4]![1].error, { type: 'mapper_parsing_exception', reason: /field \[@timestamp\]/ })
  t.match(items[5]![1].error, { type: 'mapper_parsing_exception', reason: /field \[deep(\.a)+\].*deeper/ })
  t.match(items[6]![1].error, { type: 'mapper_parsing_exception', reason: /field \[_id\]/ })
  t.match(items[7]![1].error, { type: 'action_request_validation_exception', reason: /index is missing/ })
  t.same((await listLogs(app, apiKey)).map((log) => [log.message, log.environment, log.status]),
    [['kept', 'default', 'UNKNOWN'], ['also kept', 'staging', 'SUCCESS']])
})

void t.test('a revoked key and a read-only key are refused whole, as ResponseError 401 and 403', async (t) => {
  const { app, base } = await listening(t)
  const revoked = await issueKey(app, 'acme')
  const readOnly = await issueKey(app, 'acme', { scopes: ['logs:read'] })
  await revokeKey(app.db, { keyId: revoked.keyId, scope: EVERY_CLIENT }, { actor: 'cli:test' })
  for (const [who, key, status] of [['revoked', revoked.apiKey, 401], ['read-only', readOnly.apiKey, 403]] as const) {
    const client = clientFor(t, base, key)
    const error = await client.bulk({ operations: [{ create: { _index: 'app-logs' } }, { message: 'no' }] }).catch((error: unknown) => error)
    t.type(error, errors.ResponseError, `${who}: a ResponseError`)
    const response = error as errors.ResponseError
    t.equal(response.statusCode, status, `${who}: ${status}`)
    t.equal(response.headers?.['x-elastic-product'], 'Elasticsearch', `${who}: the refusal says it is Elasticsearch's`)
    t.match(response.body, { statusCode: status, status, code: status === 401 ? 'revoked_api_key' : 'insufficient_scope' })
    const helped = await client.helpers.bulk({ datasource: [{ message: 'no' }], onDocument: () => ({ create: { _index: 'a' } }) })
      .catch((error: unknown) => error)
    t.match(helped, { statusCode: status }, `${who}: the bulk helper fails with it`)
  }
  t.equal(await countLogs(app), 0)
})

void t.test('over its ingest limit, each item is 429: the helper retries, then drops and reports them', async (t) => {
  // A fixed clock: the minute the limit is counted in never ends during the test.
  const now = Date.now()
  const { app, base } = await listening(t, { INGEST_RATE_LIMIT: '3' }, () => now)
  const { apiKey } = await issueKey(app, 'acme')
  const client = clientFor(t, base, apiKey)
  const filled = await client.bulk({ operations: [{ create: { _index: 'a' } }, { message: 'one' }, { create: { _index: 'a' } }, { message: 'two' }] })
  t.equal(filled.errors, false)

  const dropped: Dropped[] = []
  const stats = await client.helpers.bulk({
    datasource: [{ message: 'three' }, { message: 'four' }],
    onDocument: () => ({ create: { _index: 'a' } }),
    onDrop: (doc) => { dropped.push(doc as unknown as Dropped) },
    retries: 1,
    wait: 10
  })
  t.match(stats, { total: 2, failed: 2, successful: 0 })
  t.ok(stats.retry >= 2, 'the 429 items were retried')
  t.same(dropped.map((doc) => [doc.status, doc.document.message]), [[429, 'three'], [429, 'four']], 'then dropped, and reported')
  t.equal(await countLogs(app), 2, 'nothing more stored')

  const direct = await client.bulk({ operations: [{ index: { _index: 'a' } }, { message: 'five' }, { index: { _index: 'a' } }, { message: 'six' }] })
  t.equal(direct.errors, true)
  t.match(direct.items, [
    { index: { status: 429, error: { type: 'es_rejected_execution_exception', reason: /log entries per minute/ } } },
    { index: { status: 429 } }
  ], 'a batch that does not fit is refused whole, item by item: nothing of it stored')
  t.equal(await countLogs(app), 2)
  const fitting = await client.bulk({ operations: [{ index: { _index: 'a' } }, { message: 'five' }] })
  t.match(fitting.items, [{ index: { status: 201 } }], 'what still fits in the minute is stored')
})

void t.test('the version probe: client.info(), with the key; HEAD / and GET /_license', async (t) => {
  const { app, base } = await listening(t)
  const { apiKey } = await issueKey(app, 'acme')
  const client = clientFor(t, base, apiKey)
  const info = await client.info()
  t.match(info, { version: { number: /^9\./, build_flavor: 'default' }, tagline: 'You Know, for Search' })
  t.ok(await client.ping(), 'HEAD / answers 200')
  const license = await client.license.get()
  t.match(license, { license: { status: 'active', type: 'basic' } })

  const stranger = new Client({ node: base })
  t.teardown(async () => { await stranger.close() })
  const refused = await stranger.info().catch((error: unknown) => error)
  t.match(refused, { statusCode: 401 }, 'no key, no version')
})

void t.test('a gzipping client is stored; over the request rate limit the client throws ResponseError 429 with Retry-After', async (t) => {
  const { app, base } = await listening(t, { RATE_LIMIT_MAX: '1', RATE_LIMIT_WINDOW: '1m' })
  const { apiKey } = await issueKey(app, 'acme')
  const client = new Client({ node: base, auth: { apiKey }, compression: true, maxRetries: 0 })
  t.teardown(async () => { await client.close() })
  const stored = await client.bulk({ operations: [{ create: { _index: 'a' } }, { message: 'gzipped by the client' }] })
  t.equal(stored.errors, false)
  const limited = await client.bulk({ operations: [{ create: { _index: 'a' } }, { message: 'one too many' }] }).catch((error: unknown) => error)
  t.type(limited, errors.ResponseError)
  const response = limited as errors.ResponseError
  t.equal(response.statusCode, 429)
  t.match(response.headers, { 'retry-after': /^\d+$/, 'x-elastic-product': 'Elasticsearch' })
  t.match(response.body, { code: 'rate_limited', status: 429 })
  t.equal(await countLogs(app), 1)
})
