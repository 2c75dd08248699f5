// Inputs that once slipped past validation to PostgreSQL or to the log, and
// bookkeeping that must happen without a write per request.
import net from 'node:net'
import { Readable } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import pg from 'pg'
import t from 'tap'
import { redactUrl } from '../src/app.ts'
import type { ErrorBody } from '../src/errors.ts'
import type { CreatedKeyBody, KeyListBody, KeyViewBody } from '../src/keys/schemas.ts'
import type { StoredLogBody } from '../src/logs/schemas.ts'
import { buildTestApp, callApi, countLogs, expectError, issueKey, postLogs, entry, KEY_SHAPE } from './helper.ts'

/** Writes raw bytes to the listening app and reads everything it sends back until it closes the connection. */
async function sendRaw (app: FastifyInstance, bytes: string): Promise<string> {
  const { port } = app.server.address() as net.AddressInfo
  return await new Promise<string>((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => { socket.write(bytes) })
    let text = ''
    socket.on('data', (chunk) => { text += chunk.toString() })
    socket.on('end', () => { resolve(text) })
    socket.on('error', reject)
  })
}

/** The status and JSON body of a raw HTTP/1.x answer. */
function rawAnswer (text: string): { status: number, body: unknown } {
  const status = Number(/^HTTP\/1\.[01] (\d{3}) /.exec(text)?.[1])
  return { status, body: JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)) }
}

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
  const answer = await sendRaw(app, 'POST /api/v1/logs HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n{}')
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
  expectError(t, lone, 400, 'invalid_name')
  const renamed = await callApi(app, key.apiKey, 'PATCH', `/api/v1/keys/${key.keyId}`, { name: '\udfff' })
  expectError(t, renamed, 400, 'invalid_name')
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

void t.test('a JSON null body is refused by the key routes, not read as no body', async (t) => {
  const { app } = await buildTestApp(t)
  const admin = await issueKey(app, 'acme', { scopes: ['keys:manage', 'logs:write', 'logs:read'] })
  const victim = await issueKey(app, 'acme')
  const keysBefore = (await callApi(app, admin.apiKey, 'GET', '/api/v1/keys')).json<KeyListBody>().data.length
  for (const url of ['/api/v1/keys', `/api/v1/keys/${victim.keyId}/rotate`]) {
    const res = await callApi(app, admin.apiKey, 'POST', url, null)
    t.match(expectError(t, res, 400, 'invalid_request'), { message: /body must be object/, details: [{ field: 'body' }] }, `POST ${url}`)
  }
  const after = (await callApi(app, admin.apiKey, 'GET', '/api/v1/keys')).json<KeyListBody>().data
  t.equal(after.length, keysBefore, 'no key was created')
  t.equal(after.find((key) => key.id === victim.keyId)?.status, 'active', 'the key was not rotated')
  // No body at all still means every default.
  t.equal((await callApi(app, admin.apiKey, 'POST', '/api/v1/keys')).statusCode, 201, 'a create without a body still works')
  t.equal((await callApi(app, admin.apiKey, 'POST', `/api/v1/keys/${victim.keyId}/rotate`)).statusCode, 201, 'so does a rotate')
})

void t.test('a query string that is not percent-encoded UTF-8 is a 400 on every route, not text to search for', async (t) => {
  const { app } = await buildTestApp(t)
  const key = await issueKey(app, 'acme', { scopes: ['keys:manage', 'logs:write', 'logs:read'] })
  const refusals: Record<string, RegExp> = {
    '/api/v1/logs?q=%ED%A0%80': /not UTF-8/,
    '/api/v1/logs?status=%zz': /"%" that is not followed by two hexadecimal digits/,
    '/api/v1/logs?limit=5&q=a%': /"%" that is not followed/,
    '/api/v1/logs?q=%C3': /not UTF-8/,
    '/api/v1/keys?x=%FF': /not UTF-8/,
    '/api/v1/audit?%zz=1': /"%" that is not followed/,
    '/health?x=%u0041': /"%" that is not followed/,
    '/no-such-route?x=%E2%80': /not UTF-8/
  }
  for (const [url, problem] of Object.entries(refusals)) {
    const res = await callApi(app, key.apiKey, 'GET', url)
    t.match(expectError(t, res, 400, 'malformed_query').message, problem, url)
  }
  const posted = await postLogs(app, key.apiKey, entry({ message: 'caf\u00e9 a+b 100%' }), { query: '?partial=%zz' })
  expectError(t, posted, 400, 'malformed_query')
  t.equal(await countLogs(app), 0, 'nothing was stored')

  t.equal((await postLogs(app, key.apiKey, entry({ message: 'caf\u00e9 a b 100%' }))).statusCode, 201)
  for (const q of ['caf%C3%A9', 'a+b', 'a%20b', '100%25']) {
    const res = await callApi(app, key.apiKey, 'GET', `/api/v1/logs?q=${q}`)
    t.equal(res.json<{ data: unknown[] }>().data.length, 1, `a valid encoding still reads: q=${q}`)
  }
})

void t.test('routes that take no query parameters refuse one, like every other route', async (t) => {
  const { app } = await buildTestApp(t)
  const admin = await issueKey(app, 'acme', { scopes: ['keys:manage', 'logs:write', 'logs:read'] })
  const victim = await issueKey(app, 'acme', { name: 'victim' })
  const log = (await postLogs(app, admin.apiKey, entry())).json<StoredLogBody>()
  const requests: Array<['GET' | 'POST' | 'PATCH' | 'DELETE', string, unknown?]> = [
    ['GET', '/api/v1/keys'],
    ['GET', `/api/v1/keys/${victim.keyId}`],
    ['GET', `/api/v1/logs/${log.id}`],
    ['POST', '/api/v1/keys', {}],
    ['POST', `/api/v1/keys/${victim.keyId}/rotate`, {}],
    ['PATCH', `/api/v1/keys/${victim.keyId}`, { name: 'renamed' }],
    ['DELETE', `/api/v1/keys/${victim.keyId}`]
  ]
  const keysBefore = (await callApi(app, admin.apiKey, 'GET', '/api/v1/keys')).json<KeyListBody>().data.length
  for (const [method, url, body] of requests) {
    const res = await callApi(app, admin.apiKey, method, `${url}?foo=1`, body)
    const error = expectError(t, res, 400, 'invalid_request')
    t.match(error, { message: /^Invalid querystring: unknown parameter "foo"/, details: [{ field: 'querystring.foo' }] }, `${method} ${url}`)
  }
  const keys = (await callApi(app, admin.apiKey, 'GET', '/api/v1/keys')).json<KeyListBody>().data
  t.equal(keys.length, keysBefore, 'no key was created')
  t.match(keys.find((key) => key.id === victim.keyId), { status: 'active', name: 'victim' }, 'the key was not rotated, renamed or revoked')

  // The documented parameters still work, and are documented as optional.
  const own = `/api/v1/keys/${admin.keyId}`
  t.equal((await callApi(app, admin.apiKey, 'PATCH', `${own}?allow_self=true`, { allowed_cidrs: ['10.0.0.0/8'] })).statusCode, 200, 'PATCH ?allow_self=true')
  const spec = (await app.inject({ method: 'GET', url: '/docs/json' })).json<{ paths: Record<string, Record<string, { parameters?: Array<{ name: string, in: string, required?: boolean }> }>> }>()
  for (const method of ['patch', 'delete']) {
    const flag = spec.paths['/api/v1/keys/{id}']?.[method]?.parameters?.find((parameter) => parameter.in === 'query')
    t.match(flag, { name: 'allow_self' }, `${method} documents allow_self`)
    t.notOk(flag?.required, `${method}: allow_self is optional`)
  }
  const revoked = await callApi(app, admin.apiKey, 'DELETE', `${own}?allow_self=true`, undefined, { remoteAddress: '10.0.0.1' })
  t.equal(revoked.statusCode, 200, 'DELETE ?allow_self=true')
  t.equal(revoked.json<{ key: KeyViewBody }>().key.status, 'revoked')
})

void t.test('an HTTP/1.1 request without Host gets a JSON 400; HTTP/1.0 needs none', async (t) => {
  const { app } = await buildTestApp(t)
  const key = await issueKey(app, 'acme')
  await app.listen({ host: '127.0.0.1', port: 0 })
  const missing = { statusCode: 400, error: 'Bad Request', code: 'missing_host_header', message: 'An HTTP/1.1 request must carry a Host header.' }
  t.same(rawAnswer(await sendRaw(app, 'GET /health HTTP/1.1\r\nConnection: close\r\n\r\n')), { status: 400, body: missing })
  const body = JSON.stringify(entry())
  const posted = await sendRaw(app, `POST /api/v1/logs HTTP/1.1\r\nX-API-Key: ${key.apiKey}\r\nContent-Type: application/json\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`)
  t.same(rawAnswer(posted), { status: 400, body: missing }, 'an authenticated route too')
  t.equal(await countLogs(app), 0, 'and nothing was stored')
  t.same(rawAnswer(await sendRaw(app, 'GET /health HTTP/1.0\r\n\r\n')), { status: 200, body: { status: 'ok' } })
})

/** A gzip stream of empty deflate blocks, which inflates to nothing; `pulled()` is how much of it the reader took. */
function emptyBlocks (totalBytes: number): { stream: Readable, pulled: () => number } {
  const header = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff])
  // 00 00 00 ff ff: a stored block, not the last, of length 0 (LEN 0000, NLEN ffff).
  const blocks = Buffer.alloc(65_535)
  for (let at = 0; at < blocks.length; at += 5) blocks.set([0, 0, 0, 0xff, 0xff], at)
  let pulled = 0
  function * chunks (): Generator<Buffer> {
    pulled += header.length
    yield header
    while (pulled < totalBytes) {
      pulled += blocks.length
      yield blocks
    }
  }
  return { stream: Readable.from(chunks(), { objectMode: false }), pulled: () => pulled }
}

void t.test('a compressed body past the limit is refused as it arrives, even when it inflates to nothing', async (t) => {
  const { app } = await buildTestApp(t, { MAX_BODY_BYTES: '65536' })
  const key = await issueKey(app, 'acme', { scopes: ['keys:manage', 'logs:write'] })
  const routes: Array<[string, number]> = [['/api/v1/logs', 65_536], ['/api/v1/keys', 1024 * 1024]]
  for (const [url, limit] of routes) {
    const { stream, pulled } = emptyBlocks(64 * 1024 * 1024)
    // No Content-Length (a chunked body), so only the bytes as they come can be counted.
    const res = await app.inject({
      method: 'POST',
      url,
      headers: { 'x-api-key': key.apiKey, 'content-type': 'application/json', 'content-encoding': 'gzip', 'transfer-encoding': 'chunked' },
      payload: stream
    })
    t.match(expectError(t, res, 413, 'payload_too_large'), { details: { limit_bytes: limit } }, url)
    // What the streams in between buffer ahead is read too, but nowhere near the 64 MiB on offer.
    t.ok(pulled() < limit + 1024 * 1024, `${url}: read ${pulled()} bytes, not much past the limit of ${limit}`)
    t.equal(res.headers.connection, 'close', 'and the rest of the body is left on a connection that closes')
  }
  t.equal(await countLogs(app), 0)
})
