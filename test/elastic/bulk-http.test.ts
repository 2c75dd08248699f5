// POST /_bulk as bytes on the wire: the shapes shippers send (Filebeat's
// ApiKey of id:key and filter_path, Basic credentials, the vendor media
// types, gzip), the client's defaults, and every malformed body refused
// whole with a 4xx that stores nothing. The version probe of GET / is
// answered only to a client, never to a browser asking for the page.
import { gzipSync } from 'node:zlib'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import t, { type Test } from 'tap'
import { setClientLimits } from '../../src/clients/settings.ts'
import type { StoredLogBody } from '../../src/logs/schemas.ts'
import { buildTestApp, countLogs, issueKey } from '../helper.ts'

const NDJSON = 'application/x-ndjson'

function ndjson (...lines: unknown[]): string {
  return lines.map((line) => (typeof line === 'string' ? line : JSON.stringify(line))).join('\n') + '\n'
}

async function bulk (app: FastifyInstance, authorization: string, payload: string | Buffer,
  options: { url?: string, contentType?: string, headers?: Record<string, string> } = {}): Promise<LightMyRequestResponse> {
  return await app.inject({
    method: 'POST',
    url: options.url ?? '/_bulk',
    headers: { authorization, 'content-type': options.contentType ?? NDJSON, ...options.headers },
    payload
  })
}

async function listLogs (app: FastifyInstance, apiKey: string): Promise<StoredLogBody[]> {
  const res = await app.inject({ method: 'GET', url: '/api/v1/logs?order=asc', headers: { 'x-api-key': apiKey } })
  return res.json<{ data: StoredLogBody[] }>().data
}

/** An error answer of these routes: this service's shape, Elasticsearch's status beside it, and the product header. */
function expectElasticError (t: Test, res: LightMyRequestResponse, statusCode: number, code: string): void {
  t.equal(res.statusCode, statusCode, `answers ${statusCode}`)
  t.equal(res.headers['x-elastic-product'], 'Elasticsearch', 'says it is Elasticsearch')
  t.match(res.json(), { statusCode, status: statusCode, code, error: String, message: String })
}

const DOC = { '@timestamp': '2026-11-20T10:00:00Z', message: 'hello' }

void t.test('shippers\' requests: Filebeat\'s ApiKey of id:key with filter_path, Basic, the vendor types, gzip', async (t) => {
  const { app } = await buildTestApp(t)
  const { apiKey } = await issueKey(app, 'acme')
  const filebeat = `ApiKey ${Buffer.from(`central-logger:${apiKey}`).toString('base64')}`
  const first = await bulk(app, filebeat, ndjson({ create: { _index: 'filebeat-9.0.0' } }, { ...DOC, message: 'from filebeat' }),
    { url: '/_bulk?filter_path=errors,items.*.error,items.*.status' })
  t.equal(first.statusCode, 200)
  t.equal(first.headers['x-elastic-product'], 'Elasticsearch')
  t.match(first.json(), { errors: false, items: [{ create: { status: 201 } }] })

  const basic = `Basic ${Buffer.from(`logs:${apiKey}`).toString('base64')}`
  const types = ['application/json', 'application/vnd.elasticsearch+x-ndjson; compatible-with=8', 'application/vnd.elasticsearch+json; compatible-with=9']
  for (const contentType of types) {
    const res = await bulk(app, basic, ndjson({ index: {} }, { ...DOC, message: contentType }), { url: '/app-logs/_bulk', contentType })
    t.match(res.json(), { errors: false, items: [{ index: { _index: 'app-logs', status: 201 } }] }, contentType)
  }
  const zipped = await bulk(app, `ApiKey ${apiKey}`, gzipSync(ndjson({ create: { _index: 'z' } }, { ...DOC, message: 'gzipped' })),
    { headers: { 'content-encoding': 'gzip' } })
  t.match(zipped.json(), { errors: false })
  const put = await app.inject({ method: 'PUT', url: '/_bulk', headers: { authorization: `ApiKey ${apiKey}`, 'content-type': NDJSON }, payload: ndjson({ create: { _index: 'p' } }, DOC) })
  t.match(put.json(), { errors: false }, 'PUT, as Elasticsearch takes it too')
  t.equal(await countLogs(app), 6)
})

void t.test('a client\'s defaults fill environment and status; a document\'s own win', async (t) => {
  const { app } = await buildTestApp(t)
  const { apiKey, clientId } = await issueKey(app, 'acme')
  await setClientLimits(app.db, clientId, { defaultEnvironment: 'production', defaultStatus: 'SUCCESS' }, { actor: 'cli:test' })
  const res = await bulk(app, `ApiKey ${apiKey}`, ndjson(
    { create: { _index: 'a' } }, { ...DOC, message: 'defaults' },
    { create: { _index: 'a' } }, { ...DOC, message: 'own', service: { environment: 'staging' }, event: { outcome: 'failure', id: 'e-1' } }
  ))
  t.match(res.json(), { errors: false, items: [{ create: { status: 201 } }, { create: { _id: 'e-1', status: 201 } }] })
  let logs: StoredLogBody[] = []
  // The defaults reach the key's cached client within a moment.
  for (let attempt = 0; attempt < 50 && logs.length === 0; attempt++) {
    logs = await listLogs(app, apiKey)
    if (logs.length === 0) await new Promise((resolve) => setTimeout(resolve, 50))
  }
  t.match(logs, [
    { message: 'defaults', environment: 'production', status: 'SUCCESS' },
    { message: 'own', environment: 'staging', status: 'FAILURE', event_id: 'e-1', attributes: { _index: 'a' } }
  ])
  t.notOk(logs[1]?.attributes !== null && 'event' in (logs[1]?.attributes ?? {}), 'the mapped ECS fields leave the attributes')
})

void t.test('malformed bodies are refused whole, and nothing is stored', async (t) => {
  const { app } = await buildTestApp(t, { MAX_BATCH_ENTRIES: '3', MAX_BODY_BYTES: '65536', INGEST_BYTES_LIMIT: '1048576' })
  const { apiKey } = await issueKey(app, 'acme')
  const auth = `ApiKey ${apiKey}`
  const good = ndjson({ create: { _index: 'a' } }, DOC)
  const cases: Array<[string, string | Buffer, number, string, Record<string, string>?]> = [
    ['an action line that is not JSON', good + '{"create":\n' + JSON.stringify(DOC) + '\n', 400, 'invalid_request'],
    ['an action line that is an array', good + ndjson([], DOC), 400, 'invalid_request'],
    ['an action line of two actions', good + ndjson({ create: {}, index: {} }, DOC), 400, 'invalid_request'],
    ['metadata that is not an object', good + ndjson({ create: 'a' }, DOC), 400, 'invalid_request'],
    ['an action without its document', good + ndjson({ create: { _index: 'a' } }), 400, 'invalid_request'],
    ['an action line nested 20,000 deep', good + '['.repeat(20_000) + ']'.repeat(20_000) + '\n' + JSON.stringify(DOC) + '\n', 400, 'invalid_request'],
    ['no lines', '\n\n', 400, 'empty_batch'],
    ['four documents, one past the limit', ndjson(...Array.from({ length: 4 }, () => [{ create: { _index: 'a' } }, DOC]).flat()), 413, 'too_many_entries'],
    ['four deletes, one past the limit', ndjson(...Array.from({ length: 4 }, () => ({ delete: { _index: 'a', _id: 'x' } }))), 413, 'too_many_entries'],
    ['a body over the limit', ndjson({ create: { _index: 'a' } }, { message: 'x'.repeat(70_000) }), 413, 'payload_too_large'],
    ['a gzip body that inflates past the limit', gzipSync(ndjson({ create: { _index: 'a' } }, { message: 'x'.repeat(200_000) })), 413, 'payload_too_large',
      { 'content-encoding': 'gzip' }],
    ['bytes that are not gzip', Buffer.from('not gzip at all'), 400, 'invalid_compressed_body', { 'content-encoding': 'gzip' }],
    ['text/plain', good, 415, 'unsupported_media_type', { 'content-type': 'text/plain' }]
  ]
  for (const [name, payload, status, code, headers] of cases) {
    const res = await bulk(app, auth, payload, { headers: headers ?? {} })
    await t.test(name, async (t) => { expectElasticError(t, res, status, code) })
  }
  t.equal(await countLogs(app), 0, 'nothing stored by any of them')
})

void t.test('hostile documents are refused item by item; the good ones of the same request are stored', async (t) => {
  const { app } = await buildTestApp(t)
  const { apiKey } = await issueKey(app, 'acme')
  const lines = [
    '{"create":{"_index":"a"}}', '{"message": "not json',
    '{"create":{"_index":"a"}}', '['.repeat(5000) + ']'.repeat(5000),
    '{"create":{"_index":"a"}}', '"just a string"',
    '{"create":{"_index":"a"}}', '{"message":"nul \\u0000 inside"}',
    '{"create":{"_index":"a"}}', '{"message":"lone \\ud800 surrogate"}',
    '{"create":{"_index":"a"}}', '{"message":"proto","__proto__":{"polluted":true}}',
    '{"create":{"_index":"a"}}', '{"trace":{"id":7}}',
    '{"create":{"_index":"a"}}', '{"message":"stored"}'
  ]
  const body = Buffer.concat([Buffer.from(lines.join('\n') + '\n'), Buffer.from('{"create":{"_index":"a"}}\n{"message":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}\n')])
  const res = await bulk(app, `ApiKey ${apiKey}`, body)
  t.equal(res.statusCode, 200)
  const items = res.json<{ items: Array<{ create: { status: number, error?: { type: string, reason: string } } }> }>().items.map((item) => item.create)
  t.same(items.map((item) => item.status), [400, 400, 400, 400, 400, 400, 400, 201, 400])
  t.ok(items.filter((item) => item.status === 400).every((item) => item.error?.type === 'mapper_parsing_exception'), 'each a mapping error')
  t.match(items[3]!.error?.reason, /field \[message\]/)
  t.match(items[6]!.error?.reason, /field \[trace\.id\].*string/)
  t.same((await listLogs(app, apiKey)).map((log) => log.message), ['stored'])
})

void t.test('GET /: the version to a client with a key, 401 to one without, and not to a browser', async (t) => {
  const { app } = await buildTestApp(t)
  const { apiKey } = await issueKey(app, 'acme')
  const readOnly = await issueKey(app, 'acme', { scopes: ['logs:read'] })
  const browser = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8'

  const probe = await app.inject({ method: 'GET', url: '/', headers: { authorization: `ApiKey ${apiKey}`, accept: 'application/json' } })
  t.equal(probe.statusCode, 200)
  t.equal(probe.headers['x-elastic-product'], 'Elasticsearch')
  t.match(probe.json(), { name: String, cluster_name: String, cluster_uuid: String, tagline: 'You Know, for Search' })
  t.match(probe.json(), {
    version: { number: /^9\.\d+\.\d+$/, build_flavor: 'default', lucene_version: String, minimum_wire_compatibility_version: String, minimum_index_compatibility_version: String }
  })
  const keyedBrowser = await app.inject({ method: 'GET', url: '/', headers: { 'x-api-key': apiKey, accept: browser } })
  t.equal(keyedBrowser.statusCode, 200, 'a key makes it a probe, whatever it accepts')
  const head = await app.inject({ method: 'HEAD', url: '/', headers: { authorization: `ApiKey ${apiKey}` } })
  t.equal(head.statusCode, 200, 'HEAD /, as Logstash checks it')

  expectElasticError(t, await app.inject({ method: 'GET', url: '/', headers: { accept: 'application/json' } }), 401, 'missing_api_key')
  expectElasticError(t, await app.inject({ method: 'GET', url: '/' }), 401, 'missing_api_key')
  expectElasticError(t, await app.inject({ method: 'GET', url: '/', headers: { 'x-api-key': readOnly.apiKey } }), 403, 'insufficient_scope')

  // The explorer page's answer (test/explorer/page.test.ts): whether or not it is built, not the probe's.
  const page = await app.inject({ method: 'GET', url: '/', headers: { accept: browser } })
  t.not(page.statusCode, 401, 'a browser asking for the page is not answered the probe')
  t.equal(page.headers['x-elastic-product'], undefined)
  t.notMatch(page.body, /You Know, for Search/)

  const license = await app.inject({ method: 'GET', url: '/_license?human=false', headers: { authorization: `ApiKey ${apiKey}` } })
  t.match(license.json(), { license: { status: 'active', type: 'basic' } })
  t.equal(license.headers['x-elastic-product'], 'Elasticsearch')
})

void t.test('usage counts stored, duplicate and refused documents, and a request over the ingest limit', async (t) => {
  const now = Date.now()
  const { app } = await buildTestApp(t, { INGEST_RATE_LIMIT: '4' }, { ingestClock: () => now })
  const { apiKey } = await issueKey(app, 'acme')
  const admin = await issueKey(app, 'acme', { scopes: ['keys:manage'] })
  const res = await bulk(app, `ApiKey ${apiKey}`, ndjson(
    { create: { _index: 'a', _id: 'one' } }, DOC,
    { create: { _index: 'a', _id: 'one' } }, DOC,
    { index: { _index: 'a' } }, DOC,
    { delete: { _index: 'a', _id: 'one' } },
    { create: { _index: 'a' } }, { message: 5 }
  ))
  t.same(res.json<{ items: Array<Record<string, { status: number }>> }>().items.map((item) => Object.values(item)[0]!.status), [201, 409, 201, 400, 400])
  const over = await bulk(app, `ApiKey ${apiKey}`, ndjson({ create: { _index: 'a' } }, DOC, { create: { _index: 'a' } }, DOC))
  t.same(over.json<{ items: Array<{ create: { status: number } }> }>().items.map((item) => item.create.status), [429, 429])
  const usage = await app.inject({ method: 'GET', url: '/api/v1/usage', headers: { 'x-api-key': admin.apiKey } })
  t.match(usage.json(), { total: { requests: 2, logs_accepted: 2, logs_duplicates: 1, logs_rejected: 4, rate_limited: 1 } })
})
