// Inputs that once slipped past validation to PostgreSQL or to the log, and
// bookkeeping that must happen without a write per request.
import net from 'node:net'
import pg from 'pg'
import t from 'tap'
import { redactUrl } from '../src/app.ts'
import type { ErrorBody } from '../src/errors.ts'
import type { CreatedKeyBody } from '../src/keys/schemas.ts'
import type { StoredLogBody } from '../src/logs/schemas.ts'
import { buildTestApp, callApi, countLogs, expectError, issueKey, postLogs, entry, KEY_SHAPE } from './helper.ts'

void t.test('query filters holding NUL or a leap second are 400, not a database error', async (t) => {
  const { app } = await buildTestApp(t)
  const key = await issueKey(app, 'acme')
  for (const filter of ['q', 'status', 'environment', 'workflow_id', 'run_id']) {
    const res = await app.inject({ method: 'GET', url: `/api/v1/logs?${filter}=a%00b`, headers: { 'x-api-key': key.apiKey } })
    expectError(t, res, 400, 'invalid_request')
  }
  for (const filter of ['from', 'to']) {
    const res = await app.inject({ method: 'GET', url: `/api/v1/logs?${filter}=2026-12-31T23:59:60Z`, headers: { 'x-api-key': key.apiKey } })
    t.match(expectError(t, res, 400, 'invalid_request').message, filter)
  }
})

void t.test('an id that is not a stored log of the caller is a 404; an absurdly long one a 414, both in the common shape', async (t) => {
  const { app } = await buildTestApp(t)
  const key = await issueKey(app, 'acme')
  const long = await app.inject({ method: 'GET', url: `/api/v1/logs/${'x'.repeat(90)}`, headers: { 'x-api-key': key.apiKey } })
  expectError(t, long, 404, 'not_found')
  const absurd = await app.inject({ method: 'GET', url: `/api/v1/logs/${'x'.repeat(300)}`, headers: { 'x-api-key': key.apiKey } })
  expectError(t, absurd, 414, 'uri_too_long')
  const malformed = await app.inject({ method: 'GET', url: '/api/v1/logs/%zz', headers: { 'x-api-key': key.apiKey } })
  expectError(t, malformed, 400, 'malformed_url')
})

void t.test('a key pasted into the URL, even percent-encoded, is redacted from the request log', async (t) => {
  const { app, logLines } = await buildTestApp(t)
  const key = await issueKey(app, 'acme')
  const encoded = key.apiKey.replace('clk_', '%63lk%5F')
  for (const url of [`/api/v1/logs?api_key=${key.apiKey}`, `/api/v1/logs?api_key=${encoded}`, `/x${encoded}`]) {
    await app.inject({ method: 'GET', url })
  }
  const lines = logLines().join('\n')
  t.match(lines, /clk_\[redacted\]/, 'the request lines were logged, redacted')
  t.notMatch(lines, KEY_SHAPE)
  t.notMatch(lines, encoded)
  t.equal(redactUrl('/api/v1/logs?limit=5'), '/api/v1/logs?limit=5', 'other URLs are logged as sent')
  t.equal(redactUrl('/bad%zz'), '/bad%zz', 'so are URLs that are not valid percent-encoding')
})

void t.test('last use is recorded in batches, and written at close', async (t) => {
  const { app, databaseUrl } = await buildTestApp(t)
  const used = await issueKey(app, 'acme')
  const unused = await issueKey(app, 'acme')
  const before = Date.now()
  t.equal((await postLogs(app, used.apiKey, entry())).statusCode, 201)
  t.equal((await app.inject({ method: 'GET', url: '/api/v1/logs', headers: { 'x-api-key': used.apiKey } })).statusCode, 200)
  await app.close()
  const client = new pg.Client({ connectionString: databaseUrl })
  await client.connect()
  const { rows } = await client.query<{ id: string, last_used_at: Date | null }>('SELECT id, last_used_at FROM api_keys')
  await client.end()
  const lastUse = new Map(rows.map((row) => [row.id, row.last_used_at]))
  t.ok((lastUse.get(used.keyId)?.getTime() ?? 0) >= before - 1000, 'the used key has its last use')
  t.equal(lastUse.get(unused.keyId), null, 'the unused key has none')
})

void t.test('a malformed HTTP request still gets the JSON error shape', async (t) => {
  const { app } = await buildTestApp(t)
  await app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = app.server.address() as net.AddressInfo
  const answer = await new Promise<string>((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.write('POST /api/v1/logs HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n{}')
    })
    let text = ''
    socket.on('data', (chunk) => { text += chunk.toString() })
    socket.on('end', () => { resolve(text) })
    socket.on('error', reject)
  })
  t.match(answer, /^HTTP\/1\.1 400 /)
  const body = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as ErrorBody
  t.same(body, { statusCode: 400, error: 'Bad Request', code: 'malformed_http_request', message: 'The HTTP request is malformed.' })
})

void t.test('a compressed body no one reads, and cannot be inflated, leaves the process running', async (t) => {
  const { app } = await buildTestApp(t)
  const key = await issueKey(app, 'acme')
  // Before, the inflater's error had no listener on these paths and stopped the process.
  const unread = await app.inject({ method: 'GET', url: '/health', headers: { 'content-encoding': 'gzip', 'content-type': 'application/json' }, payload: 'not gzip' })
  t.equal(unread.statusCode, 200, 'a GET body is not read')
  const refused = await postLogs(app, key.apiKey, 'not gzip', { contentType: 'text/plain', encoding: 'gzip' })
  expectError(t, refused, 415, 'unsupported_media_type')
  await new Promise((resolve) => setTimeout(resolve, 50))
  t.equal((await app.inject({ method: 'GET', url: '/health' })).statusCode, 200, 'and the service still answers')
})

void t.test('a JSON or NDJSON body that is not UTF-8 is refused, not stored with U+FFFD in its place', async (t) => {
  const { app } = await buildTestApp(t)
  const key = await issueKey(app, 'acme')
  const latin1 = Buffer.from(JSON.stringify(entry({ message: 'caf\u00e9' })), 'latin1')
  expectError(t, await postLogs(app, key.apiKey, latin1), 400, 'invalid_encoding')
  const ndjson = Buffer.concat([Buffer.from(`${JSON.stringify(entry())}\n`), latin1])
  const body = expectError(t, await postLogs(app, key.apiKey, ndjson, { contentType: 'application/x-ndjson' }), 400, 'invalid_entries')
  t.match(body.details, [{ index: 1, code: 'invalid_json', message: /line 2 .*UTF-8/ }], 'the NDJSON line is named')
  const stored = await postLogs(app, key.apiKey, Buffer.from(JSON.stringify(entry({ message: 'caf\u00e9 \u{1f600}' }))))
  t.equal(stored.json<StoredLogBody>().message, 'caf\u00e9 \u{1f600}', 'UTF-8 itself is read as before')
  t.equal(await countLogs(app), 1, 'only the valid body was stored')
})

void t.test('a key name holding an unpaired surrogate is refused, a paired one kept', async (t) => {
  const { app } = await buildTestApp(t)
  const key = await issueKey(app, 'acme', { scopes: ['keys:manage', 'logs:write', 'logs:read'] })
  const lone = await callApi(app, key.apiKey, 'POST', '/api/v1/keys', { name: 'a\ud800b' })
  expectError(t, lone, 400, 'invalid_request')
  const renamed = await callApi(app, key.apiKey, 'PATCH', `/api/v1/keys/${key.keyId}`, { name: '\udfff' })
  expectError(t, renamed, 400, 'invalid_request')
  const paired = await callApi(app, key.apiKey, 'POST', '/api/v1/keys', { name: 'deploy \u{1f511}' })
  t.equal(paired.statusCode, 201)
  t.equal(paired.json<CreatedKeyBody>().key.name, 'deploy \u{1f511}')
})

void t.test('a page size of Infinity is refused, not passed to PostgreSQL', async (t) => {
  const { app } = await buildTestApp(t)
  const key = await issueKey(app, 'acme', { scopes: ['keys:manage', 'logs:read'] })
  for (const url of ['/api/v1/logs', '/api/v1/audit']) {
    for (const limit of ['Infinity', '1e309', '-Infinity']) {
      const res = await callApi(app, key.apiKey, 'GET', `${url}?limit=${limit}`)
      t.match(expectError(t, res, 400, 'invalid_request').message, /limit/, `${url}?limit=${limit}`)
    }
    t.equal((await callApi(app, key.apiKey, 'GET', `${url}?limit=1e3`)).statusCode, 200, 'an exponent that is a whole page size still reads')
  }
})

void t.test('a body over the limit is refused with the limit of the route that refused it', async (t) => {
  const { app } = await buildTestApp(t, { MAX_BODY_BYTES: '65536' })
  const key = await issueKey(app, 'acme', { scopes: ['keys:manage', 'logs:write'] })
  const keyBody = await callApi(app, key.apiKey, 'POST', '/api/v1/keys', { name: 'x'.repeat(1024 * 1024) })
  t.match(expectError(t, keyBody, 413, 'payload_too_large'), { message: /1 MiB/, details: { limit_bytes: 1024 * 1024 } }, 'the key routes have the default limit')
  const logBody = await postLogs(app, key.apiKey, entry({ message: 'x'.repeat(70_000) }))
  t.match(expectError(t, logBody, 413, 'payload_too_large'), { message: /64 KiB/, details: { limit_bytes: 65536 } }, 'ingest has MAX_BODY_BYTES')
})
