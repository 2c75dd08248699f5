// GET /metrics after real requests: each counter moves by exactly what the
// requests did (entries by protocol and outcome, answers by route pattern and
// status class, error codes, authentication failures, limits, group commit,
// the key cache), the gauges read what the service holds, and no label names
// a client, a key or an id unless METRICS_PER_CLIENT=true.
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import pg from 'pg'
import t from 'tap'
import { buildTestApp, entry, expectError, issueKey, KEY_SHAPE, loopbackPort, postLogs, testRedis } from '../helper.ts'
import { minuteStartClock } from '../logs/clock-minute.ts'
import { openTail } from '../tail/sse-reader.ts'
import { scrape, type Scrape } from './scrape.ts'
import { request as httpRequest } from 'node:http'

const TIME_NS = '1795000000123456789'

async function otlp (app: FastifyInstance, apiKey: string, records: Array<Record<string, unknown>>): Promise<LightMyRequestResponse> {
  return await app.inject({
    method: 'POST',
    url: '/v1/logs',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
    payload: JSON.stringify({
      resourceLogs: [{
        resource: { attributes: [{ key: 'deployment.environment', value: { stringValue: 'production' } }] },
        scopeLogs: [{ logRecords: records }]
      }]
    })
  })
}

async function loki (app: FastifyInstance, apiKey: string, values: unknown[][]): Promise<LightMyRequestResponse> {
  return await app.inject({
    method: 'POST',
    url: '/loki/api/v1/push',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
    payload: JSON.stringify({ streams: [{ stream: { env: 'production', job: 'nightly' }, values }] })
  })
}

async function bulk (app: FastifyInstance, apiKey: string, documents: Array<Record<string, unknown>>): Promise<LightMyRequestResponse> {
  return await app.inject({
    method: 'POST',
    url: '/_bulk',
    headers: { 'content-type': 'application/x-ndjson', authorization: `ApiKey ${apiKey}` },
    payload: documents.map((document) => `{"create":{"_index":"app"}}\n${JSON.stringify(document)}\n`).join('')
  })
}

const ENTRIES = 'central_logger_log_entries_total'
const HTTP_COUNT = 'central_logger_http_request_duration_seconds_count'

/** How much each of these series moved between two scrapes. */
function moved (before: Scrape, after: Scrape, name: string, labels: Record<string, string> = {}): number {
  return after.value(name, labels) - before.value(name, labels)
}

void t.test('entries, answers and errors count exactly what the requests did, by protocol, route pattern and status class', async (t) => {
  const { app } = await buildTestApp(t)
  const { apiKey } = await issueKey(app, 'acme')
  const before = await scrape(app)

  // Native: two stored, one a duplicate of the first's event_id; then a batch refused whole for one invalid entry.
  t.equal((await postLogs(app, apiKey, [entry({ event_id: 'e-1' }), entry(), entry({ event_id: 'e-1' })])).statusCode, 201)
  expectError(t, await postLogs(app, apiKey, [entry(), entry({ executed_at: 'yesterday' })]), 400, 'invalid_entries')
  // OTLP: one record stored, one without a time refused in a partial success.
  const otlpAnswer = await otlp(app, apiKey, [
    { timeUnixNano: TIME_NS, severityText: 'INFO', body: { stringValue: 'from otlp' }, attributes: [{ key: 'status', value: { stringValue: 'ok' } }] },
    { severityText: 'INFO', body: { stringValue: 'no status' }, attributes: [{ key: 'status', value: { intValue: '3' } }] }
  ])
  t.equal(otlpAnswer.statusCode, 200)
  // Loki: three lines stored.
  t.equal((await loki(app, apiKey, [[TIME_NS, 'a', { status: 'ok' }], [TIME_NS, 'b', { status: 'ok' }], [TIME_NS, 'c', { status: 'ok' }]])).statusCode, 204)
  // Elasticsearch: two documents stored.
  const bulkAnswer = await bulk(app, apiKey, [
    { '@timestamp': '2026-11-20T10:00:00Z', message: 'one', status: 'ok', environment: 'production' },
    { '@timestamp': '2026-11-20T10:00:01Z', message: 'two', status: 'ok', environment: 'production' }
  ])
  t.match(bulkAnswer.json(), { errors: false })
  // Reads: one found nowhere (a route with an id in its path), one unknown route, one without a key, one with a made-up key.
  expectError(t, await app.inject({ method: 'GET', url: '/api/v1/logs/0190a0a0-0000-7000-8000-000000000000', headers: { 'x-api-key': apiKey } }), 404, 'not_found')
  expectError(t, await app.inject({ method: 'GET', url: '/no/such/route' }), 404, 'route_not_found')
  expectError(t, await app.inject({ method: 'GET', url: '/api/v1/logs' }), 401, 'missing_api_key')
  expectError(t, await app.inject({ method: 'GET', url: '/api/v1/logs', headers: { 'x-api-key': 'clk_' + 'A'.repeat(49) } }), 401)

  const after = await scrape(app)
  const otlpStored = moved(before, after, ENTRIES, { protocol: 'otlp', outcome: 'stored' })
  const otlpRejected = moved(before, after, ENTRIES, { protocol: 'otlp', outcome: 'rejected' })
  t.same({
    native: ['stored', 'duplicate', 'rejected', 'refused'].map((outcome) => moved(before, after, ENTRIES, { protocol: 'native', outcome })),
    otlp: otlpStored + otlpRejected,
    loki: moved(before, after, ENTRIES, { protocol: 'loki', outcome: 'stored' }),
    elasticsearch: moved(before, after, ENTRIES, { protocol: 'elasticsearch', outcome: 'stored' })
  }, { native: [2, 1, 2, 0], otlp: 2, loki: 3, elasticsearch: 2 }, 'entries by protocol and outcome')
  const partial = otlpAnswer.json<{ partialSuccess?: { rejectedLogRecords?: number } }>().partialSuccess?.rejectedLogRecords ?? 0
  t.equal(otlpRejected, Number(partial), 'OTLP\'s rejected records as its partial success counts them')

  t.equal(moved(before, after, HTTP_COUNT, { method: 'POST', route: '/api/v1/logs', status_class: '2xx' }), 1)
  t.equal(moved(before, after, HTTP_COUNT, { method: 'POST', route: '/api/v1/logs', status_class: '4xx' }), 1)
  t.equal(moved(before, after, HTTP_COUNT, { method: 'POST', route: '/v1/logs', status_class: '2xx' }), 1)
  t.equal(moved(before, after, HTTP_COUNT, { method: 'POST', route: '/loki/api/v1/push', status_class: '2xx' }), 1)
  t.equal(moved(before, after, HTTP_COUNT, { method: 'POST', route: '/_bulk', status_class: '2xx' }), 1)
  t.equal(moved(before, after, HTTP_COUNT, { method: 'GET', route: '/api/v1/logs/:id', status_class: '4xx' }), 1, 'the pattern, not the id')
  t.equal(moved(before, after, HTTP_COUNT, { method: 'GET', route: 'unmatched', status_class: '4xx' }), 1)
  t.equal(moved(before, after, HTTP_COUNT, { method: 'GET', route: '/api/v1/logs', status_class: '4xx' }), 2)
  t.equal(moved(before, after, 'central_logger_http_request_duration_seconds_bucket',
    { method: 'POST', route: '/api/v1/logs', status_class: '2xx', le: '+Inf' }), 1, 'a histogram, with its buckets')

  t.equal(moved(before, after, 'central_logger_error_answers_total', { code: 'invalid_entries' }), 1)
  t.equal(moved(before, after, 'central_logger_error_answers_total', { code: 'not_found' }), 1)
  t.equal(moved(before, after, 'central_logger_error_answers_total', { code: 'route_not_found' }), 1)
  t.equal(moved(before, after, 'central_logger_auth_failures_total', { reason: 'missing_api_key' }), 1)
  t.equal(moved(before, after, 'central_logger_auth_failures_total', { reason: 'invalid_api_key' }) +
    moved(before, after, 'central_logger_auth_failures_total', { reason: 'malformed_api_key' }), 1)

  // Four ingest requests stored something, one at a time: four groups of one request, with every entry written.
  t.equal(moved(before, after, 'central_logger_write_group_requests_count'), 4)
  t.equal(moved(before, after, 'central_logger_write_group_requests_sum'), 4)
  t.equal(moved(before, after, 'central_logger_write_group_rows_sum'), 3 + otlpStored + 3 + 2)
  t.equal(moved(before, after, 'central_logger_write_commit_seconds_count', { outcome: 'committed' }), 4)
  t.ok(moved(before, after, 'central_logger_write_commit_seconds_sum', { outcome: 'committed' }) > 0)
})

void t.test('the key cache: one miss and one lookup for a new key, hits after', async (t) => {
  const { app } = await buildTestApp(t)
  const { apiKey } = await issueKey(app, 'acme')
  const before = await scrape(app)
  for (let i = 0; i < 3; i++) t.equal((await app.inject({ method: 'GET', url: '/api/v1/logs', headers: { 'x-api-key': apiKey } })).statusCode, 200)
  const after = await scrape(app)
  t.equal(moved(before, after, 'central_logger_key_cache_requests_total', { result: 'miss' }), 1)
  t.equal(moved(before, after, 'central_logger_key_cache_requests_total', { result: 'hit' }), 2)
  t.equal(moved(before, after, 'central_logger_key_lookups_total'), 1)
})

void t.test('limits: requests, ingest entries and bytes, each refusal counted once', async (t) => {
  // One ingest minute throughout.
  const { app } = await buildTestApp(t, { RATE_LIMIT_MAX: '3', INGEST_RATE_LIMIT: '3' }, { ingestClock: minuteStartClock() })
  const { apiKey } = await issueKey(app, 'acme')
  const before = await scrape(app)
  t.equal((await postLogs(app, apiKey, [entry(), entry()])).statusCode, 201)
  expectError(t, await postLogs(app, apiKey, [entry(), entry()]), 429, 'ingest_rate_limited')
  t.equal((await postLogs(app, apiKey, [entry()])).statusCode, 201)
  expectError(t, await postLogs(app, apiKey, [entry()]), 429, 'rate_limited')
  const after = await scrape(app)
  t.equal(moved(before, after, 'central_logger_limited_requests_total', { limit: 'ingest_entries' }), 1)
  t.equal(moved(before, after, 'central_logger_limited_requests_total', { limit: 'requests' }), 1)
  t.equal(moved(before, after, 'central_logger_limited_requests_total', { limit: 'ingest_bytes' }), 0)
  t.equal(moved(before, after, ENTRIES, { protocol: 'native', outcome: 'refused' }), 2, 'the entries of the request over its minute')
  t.equal(moved(before, after, ENTRIES, { protocol: 'native', outcome: 'stored' }), 3)
  t.equal(moved(before, after, HTTP_COUNT, { method: 'POST', route: '/api/v1/logs', status_class: '4xx' }), 2)
})

void t.test('a query stopped by QUERY_TIMEOUT_MS is counted', async (t) => {
  const { app, databaseUrl } = await buildTestApp(t, { QUERY_TIMEOUT_MS: '200' })
  const { apiKey } = await issueKey(app, 'acme')
  const before = await scrape(app)
  // A lock the query must wait for: the statement timeout counts the wait.
  const locker = new pg.Client({ connectionString: databaseUrl })
  await locker.connect()
  t.teardown(async () => { await locker.end() })
  await locker.query('begin')
  await locker.query('lock table logs in access exclusive mode')
  expectError(t, await app.inject({ method: 'GET', url: '/api/v1/logs', headers: { 'x-api-key': apiKey } }), 503, 'query_timeout')
  await locker.query('rollback')
  const after = await scrape(app)
  t.equal(moved(before, after, 'central_logger_query_timeouts_total'), 1)
  t.equal(moved(before, after, 'central_logger_error_answers_total', { code: 'query_timeout' }), 1)
})

void t.test('an address past its failed authentications: blocked, counted as throttled', async (t) => {
  const { app } = await buildTestApp(t, { AUTH_FAIL_MAX: '2' })
  const before = await scrape(app)
  t.equal(before.value('central_logger_auth_throttled_addresses'), 0)
  for (let i = 0; i < 3; i++) expectError(t, await app.inject({ method: 'GET', url: '/api/v1/logs' }), 401, 'missing_api_key')
  expectError(t, await app.inject({ method: 'GET', url: '/api/v1/logs' }), 429, 'auth_throttled')
  const after = await scrape(app)
  t.equal(after.value('central_logger_auth_throttled_addresses'), 1)
  t.equal(moved(before, after, 'central_logger_auth_blocks_total'), 1)
  t.equal(moved(before, after, 'central_logger_auth_failures_total', { reason: 'missing_api_key' }), 3)
  t.equal(moved(before, after, 'central_logger_auth_failures_total', { reason: 'auth_throttled' }), 1)
})

void t.test('gauges: both pools with their sizes, the write queue, tails, back-pressure, and the process', async (t) => {
  const { app } = await buildTestApp(t, { DB_POOL_MAX: '7', DB_READ_POOL_MAX: '3' })
  const metrics = await scrape(app)
  t.equal(metrics.find('central_logger_db_pool_max', { pool: 'write' }), 7)
  t.equal(metrics.find('central_logger_db_pool_max', { pool: 'read' }), 3)
  for (const pool of ['write', 'read']) {
    t.type(metrics.find('central_logger_db_pool_connections', { pool, state: 'in_use' }), 'number', `${pool} pool in use`)
    t.type(metrics.find('central_logger_db_pool_connections', { pool, state: 'idle' }), 'number', `${pool} pool idle`)
    t.equal(metrics.find('central_logger_db_pool_waiting', { pool }), 0, `nothing waits for the ${pool} pool`)
  }
  t.equal(metrics.find('central_logger_write_queue_rows'), 0)
  t.equal(metrics.find('central_logger_write_queue_requests'), 0)
  t.equal(metrics.find('central_logger_writes_in_flight'), 0)
  t.equal(metrics.find('central_logger_tails_open'), 0)
  for (const reason of ['event_loop', 'heap', 'write_queue']) t.equal(metrics.find('central_logger_overloaded', { reason }), 0, reason)
  t.equal(metrics.find('central_logger_redis_up'), undefined, 'no Redis to be up without REDIS_URL')
  t.ok((metrics.find('process_resident_memory_bytes') ?? 0) > 0, 'process memory')
  t.ok((metrics.find('nodejs_heap_size_used_bytes') ?? 0) > 0, 'heap in use')
  t.type(metrics.find('nodejs_eventloop_lag_p99_seconds'), 'number', 'event-loop lag')
  t.match(metrics.text, /^# TYPE central_logger_http_request_duration_seconds histogram$/m)
})

void t.test('tails open, counted while they are', async (t) => {
  const { app } = await buildTestApp(t)
  const { apiKey } = await issueKey(app, 'acme')
  const tail = await openTail(`http://127.0.0.1:${await loopbackPort(app)}`, apiKey)
  t.teardown(() => { tail.close() })
  t.equal(tail.status, 200)
  t.equal((await scrape(app)).value('central_logger_tails_open'), 1)
  tail.close()
  for (let i = 0; i < 100 && (await scrape(app)).value('central_logger_tails_open') !== 0; i++) await new Promise((resolve) => setTimeout(resolve, 20))
  t.equal((await scrape(app)).value('central_logger_tails_open'), 0, 'and no longer once closed')
})

const redis = testRedis(t, 'redis_up is not checked against a running Redis')

void t.test('Redis availability, with REDIS_URL', { skip: redis.skip }, async (t) => {
  const { app } = await buildTestApp(t, { REDIS_URL: redis.url })
  for (let i = 0; i < 100 && app.redis?.status !== 'ready'; i++) await new Promise((resolve) => setTimeout(resolve, 20))
  t.equal((await scrape(app)).find('central_logger_redis_up'), 1)
  app.redis?.disconnect()
  for (let i = 0; i < 100 && app.redis?.status === 'ready'; i++) await new Promise((resolve) => setTimeout(resolve, 20))
  t.equal((await scrape(app)).find('central_logger_redis_up'), 0, 'and 0 once it is not')
})

/** Every label value of every sample. */
function labelValues (metrics: Scrape): string[] {
  return metrics.samples.flatMap((sample) => Object.values(sample.labels))
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i

void t.test('labels are bounded: ids, keys, clients and URLs never become series', async (t) => {
  const { app } = await buildTestApp(t)
  const clients = await Promise.all(['acme', 'globex', 'initech'].map(async (name) => await issueKey(app, name)))
  // The service's own series (the process's come and go with its garbage collections).
  const ownSeries = async (): Promise<number> => (await scrape(app)).samples.filter((sample) => sample.name.startsWith('central_logger_')).length
  const round = async (i: number): Promise<void> => {
    const { apiKey } = clients[i % clients.length]!
    const id = crypto.randomUUID()
    await app.inject({ method: 'GET', url: `/api/v1/logs/${id}?api_key=${apiKey}`, headers: { 'x-api-key': apiKey } })
    await app.inject({ method: 'GET', url: `/nothing/${id}/${apiKey}` })
    await app.inject({ method: 'GET', url: '/api/v1/logs', headers: { 'x-api-key': `${apiKey.slice(0, -1)}x` } })
    await postLogs(app, apiKey, [entry({ event_id: `event-${apiKey.slice(-12)}-${i}` })])
  }
  await round(0)
  // GET /metrics itself is counted from its first answer on.
  await ownSeries()
  const first = await ownSeries()
  for (let i = 1; i < 16; i++) await round(i)
  t.equal(await ownSeries(), first, 'sixty more requests with new ids and keys, from three clients, added no series')
  const metrics = await scrape(app)
  const values = labelValues(metrics)
  const names = new Set(metrics.samples.flatMap((sample) => Object.keys(sample.labels)))
  t.notOk(names.has('client_id'), 'no client label without METRICS_PER_CLIENT')
  t.notOk(values.some((value) => UUID.test(value)), 'no id in any label')
  t.notOk(KEY_SHAPE.test(metrics.text) || metrics.text.includes('clk_'), 'no key, nor any part of one')
  for (const { apiKey, clientId } of clients) {
    t.notOk(metrics.text.includes(apiKey.slice(-12)), 'no key tail (the event ids sent)')
    t.notOk(metrics.text.includes(clientId), 'no client id')
  }
  t.notOk(/acme|globex|initech/.test(metrics.text), 'no client name')
  const routes = new Set(metrics.series('central_logger_http_request_duration_seconds_count').map((sample) => sample.labels.route))
  t.ok([...routes].every((route) => route === 'unmatched' || app.hasRoute({ method: 'GET', url: route! }) || app.hasRoute({ method: 'POST', url: route! })),
    `only route patterns: ${[...routes].join(', ')}`)
})

void t.test('METRICS_PER_CLIENT=true: entries and limits per client id, never a key or name', async (t) => {
  const { app } = await buildTestApp(t, { METRICS_PER_CLIENT: 'true', INGEST_RATE_LIMIT: '2' }, { ingestClock: minuteStartClock() })
  const acme = await issueKey(app, 'acme')
  const globex = await issueKey(app, 'globex')
  t.equal((await postLogs(app, acme.apiKey, [entry(), entry()])).statusCode, 201)
  t.equal((await postLogs(app, globex.apiKey, [entry()])).statusCode, 201)
  expectError(t, await postLogs(app, acme.apiKey, [entry()]), 429, 'ingest_rate_limited')
  const metrics = await scrape(app)
  t.equal(metrics.find('central_logger_client_log_entries_total', { client_id: acme.clientId, outcome: 'stored' }), 2)
  t.equal(metrics.find('central_logger_client_log_entries_total', { client_id: acme.clientId, outcome: 'refused' }), 1)
  t.equal(metrics.find('central_logger_client_log_entries_total', { client_id: globex.clientId, outcome: 'stored' }), 1)
  t.equal(metrics.find('central_logger_client_limited_requests_total', { client_id: acme.clientId, limit: 'ingest_entries' }), 1)
  t.equal(metrics.find('central_logger_client_limited_requests_total', { client_id: globex.clientId, limit: 'ingest_entries' }), undefined)
  t.notOk(metrics.text.includes('clk_'), 'no key')
  t.notOk(/acme|globex/.test(metrics.text), 'no client name')
})

// Who may scrape: METRICS_TOKEN as a bearer token on PORT, or METRICS_PORT,
// a listener of its own (with the token too, when both are set), which PORT
// then does not serve. And nothing secret is ever in the text.
const TOKEN = 'scrape-token-0123456789abcdef'

/** A request over a real socket (the metrics listener is not the app: app.inject cannot reach it). */
async function get (port: number, path: string, headers: Record<string, string> = {}): Promise<{ status: number, headers: Record<string, unknown>, body: string }> {
  return await new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, headers, agent: false }, (res) => {
      let body = ''
      res.setEncoding('utf8').on('data', (chunk: string) => { body += chunk }).on('end', () => {
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body })
      })
    })
    req.once('error', reject).end()
  })
}

void t.test('without a token or port: served on PORT to anyone', async (t) => {
  const { app } = await buildTestApp(t)
  const res = await app.inject({ method: 'GET', url: '/metrics' })
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /^text\/plain; version=0\.0\.4/)
  t.match(res.body, /^central_logger_log_entries_total\{protocol="native",outcome="stored"\} 0$/m)
  t.equal(app.metricsListener, undefined)
})

void t.test('METRICS_TOKEN: refused without it, or with another, as a bearer token only', async (t) => {
  const { app } = await buildTestApp(t, { METRICS_TOKEN: TOKEN })
  const refused = [
    {},
    { authorization: 'Bearer wrong-token-0123456789abcdef' },
    { authorization: `Bearer ${TOKEN}x` },
    { authorization: `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}` },
    { authorization: TOKEN },
    { 'x-api-key': TOKEN }
  ]
  for (const headers of refused) {
    const body = expectError(t, await app.inject({ method: 'GET', url: '/metrics', headers }), 401, 'invalid_metrics_token')
    t.notOk(JSON.stringify(body).includes(TOKEN), 'the answer does not tell the token')
  }
  for (const authorization of [`Bearer ${TOKEN}`, `bearer ${TOKEN}`]) {
    const res = await app.inject({ method: 'GET', url: '/metrics', headers: { authorization } })
    t.equal(res.statusCode, 200, authorization.split(' ')[0] ?? '')
  }
})

void t.test('METRICS_PORT: a listener of its own, which PORT leaves alone; with METRICS_TOKEN, it needs the token', async (t) => {
  const { app } = await buildTestApp(t, { METRICS_PORT: '0', METRICS_TOKEN: TOKEN })
  const port = app.metricsListener?.port
  if (port === undefined) throw new Error('no metrics listener')
  expectError(t, await app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${TOKEN}` } }), 404, 'route_not_found')

  const refused = await get(port, '/metrics')
  t.equal(refused.status, 401)
  t.match(refused.headers['www-authenticate'], /^Bearer/)
  t.match(JSON.parse(refused.body), { statusCode: 401, code: 'invalid_metrics_token' })
  const served = await get(port, '/metrics?x=1', { authorization: `Bearer ${TOKEN}` })
  t.equal(served.status, 200)
  t.match(served.headers['content-type'], /^text\/plain; version=0\.0\.4/)
  t.match(served.body, /^process_resident_memory_bytes \d+/m)
  t.match(JSON.parse((await get(port, '/api/v1/logs', { authorization: `Bearer ${TOKEN}` })).body), { statusCode: 404, code: 'route_not_found' },
    'nothing of the API on it')

  await app.close()
  await t.rejects(get(port, '/metrics'), 'closed with the app')
})

void t.test('METRICS_PORT alone: open on its own listener', async (t) => {
  const { app } = await buildTestApp(t, { METRICS_PORT: '0', METRICS_HOST: '127.0.0.1' })
  const served = await get(app.metricsListener!.port, '/metrics')
  t.equal(served.status, 200)
})

void t.test('a METRICS_PORT taken stops the start, naming it', async (t) => {
  const { app } = await buildTestApp(t, { METRICS_PORT: '0' })
  await t.rejects(buildTestApp(t, { METRICS_PORT: String(app.metricsListener!.port) }), /METRICS_PORT/)
})

void t.test('no secret in the metrics: keys, the token, the signing key, the database password', async (t) => {
  const signingKey = 'signing-key-' + 'z'.repeat(40)
  const { app, databaseUrl } = await buildTestApp(t, {
    METRICS_TOKEN: TOKEN,
    METRICS_PER_CLIENT: 'true',
    SIGNING_KEY: signingKey,
    API_KEYS: JSON.stringify({ 'dev-key-in-plaintext-0123': 'dev-client' })
  })
  const { apiKey } = await issueKey(app, 'acme')
  t.equal((await postLogs(app, apiKey, [entry()])).statusCode, 201)
  t.equal((await postLogs(app, 'dev-key-in-plaintext-0123', [entry()])).statusCode, 201)
  await app.inject({ method: 'GET', url: `/api/v1/logs?api_key=${apiKey}`, headers: { authorization: `Bearer ${apiKey}x` } })
  const res = await app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${TOKEN}` } })
  t.equal(res.statusCode, 200)
  const secrets = [apiKey, apiKey.slice(0, 20), 'clk_', TOKEN, signingKey, 'dev-key-in-plaintext', new URL(databaseUrl).pathname.slice(1)]
  const password = new URL(databaseUrl).password
  if (password !== '') secrets.push(password)
  for (const secret of secrets) t.notOk(res.body.includes(secret), `no ${secret.slice(0, 8)}…`)
})
