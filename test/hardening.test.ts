// Inputs that once slipped past validation to PostgreSQL or to the log, and
// bookkeeping that must happen without a write per request.
import net from 'node:net'
import pg from 'pg'
import t from 'tap'
import { redactUrl } from '../src/app.ts'
import type { ErrorBody } from '../src/errors.ts'
import { buildTestApp, expectError, issueKey, postLogs, entry, KEY_SHAPE } from './helper.ts'

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
