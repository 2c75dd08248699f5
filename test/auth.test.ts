import { request as httpRequest } from 'node:http'
import net from 'node:net'
import { gzipSync } from 'node:zlib'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import t from 'tap'
import type { ErrorBody } from '../src/errors.ts'
import { generateKey } from '../src/keys/format.ts'
import { revokeKey } from '../src/keys/lifecycle.ts'
import type { LogPageBody } from '../src/logs/schemas.ts'
import { buildTestApp, countLogs, entry, expectError, issueKey, loopbackPort, postLogs } from './helper.ts'
import { EVERY_CLIENT } from '../src/provider/every-client.ts'
import { once } from 'node:events'
import { setTimeout } from 'node:timers/promises'

type Headers = Record<string, string>

// Unlike postLogs, which always sends the key in X-API-Key, these send exactly
// the headers given: each way a key may be sent, misspelt or left out.
async function post (app: FastifyInstance, headers: Headers, body: object = entry()): Promise<LightMyRequestResponse> {
  return await app.inject({ method: 'POST', url: '/api/v1/logs', headers, payload: body })
}

async function get (app: FastifyInstance, headers: Headers): Promise<LightMyRequestResponse> {
  return await app.inject({ method: 'GET', url: '/api/v1/logs', headers })
}

/** The three ways a key may be sent, with the Authorization schemes in several cases. */
function headerForms (key: string): Array<[string, Headers]> {
  return [
    ['X-API-Key', { 'x-api-key': key }],
    ['Authorization: Bearer', { authorization: `Bearer ${key}` }],
    ['Authorization: bearer', { authorization: `bearer ${key}` }],
    ['Authorization: BEARER', { authorization: `BEARER ${key}` }],
    ['Authorization: Api-Key', { authorization: `Api-Key ${key}` }],
    ['Authorization: api-key', { authorization: `api-key ${key}` }],
    ['Authorization: API-KEY', { authorization: `API-KEY ${key}` }]
  ]
}

void t.test('a key is accepted in each header form, on writes and reads', async (t) => {
  const { app } = await buildTestApp(t)
  const { apiKey } = await issueKey(app, 'acme')
  const forms = headerForms(apiKey)
  for (const [name, headers] of forms) {
    const written = await post(app, headers, entry({ message: `via ${name}` }))
    t.equal(written.statusCode, 201, `POST with ${name}`)
    const read = await get(app, headers)
    t.equal(read.statusCode, 200, `GET with ${name}`)
    const messages = read.json<LogPageBody>().data.map((log) => log.message)
    t.ok(messages.includes(`via ${name}`), `GET with ${name} sees what was written`)
  }
  t.equal(await countLogs(app), forms.length)
})

void t.test('no key: 401 missing_api_key with WWW-Authenticate', async (t) => {
  const { app } = await buildTestApp(t)
  await issueKey(app, 'acme')
  expectError(t, await post(app, {}), 401, 'missing_api_key')
  expectError(t, await get(app, {}), 401, 'missing_api_key')
  t.equal(await countLogs(app), 0, 'nothing stored')
})

void t.test('malformed keys: 401 malformed_api_key', async (t) => {
  const { app } = await buildTestApp(t)
  const { apiKey } = await issueKey(app, 'acme')
  const last = apiKey.at(-1) === 'a' ? 'b' : 'a'
  const malformed: Array<[string, string]> = [
    ['bad checksum (a real key with its last character changed)', apiKey.slice(0, -1) + last],
    ['bad checksum (a real key with a middle character changed)', apiKey.slice(0, 20) + (apiKey[20] === 'Z' ? 'Y' : 'Z') + apiKey.slice(21)],
    ['truncated', apiKey.slice(0, -3)],
    ['wrong prefix', 'clx_' + apiKey.slice(4)],
    ['random text', 'not-a-real-key']
  ]
  for (const [what, key] of malformed) {
    for (const [form, headers] of headerForms(key).slice(0, 5)) {
      expectError(t, await post(app, headers), 401, 'malformed_api_key')
      t.comment(`${what} via ${form}`)
    }
    expectError(t, await get(app, { 'x-api-key': key }), 401, 'malformed_api_key')
  }
  t.equal(await countLogs(app), 0, 'nothing stored')
})

void t.test('an unknown well-formed key: 401 invalid_api_key', async (t) => {
  const { app } = await buildTestApp(t)
  await issueKey(app, 'acme')
  const unknown = generateKey()
  for (const [, headers] of headerForms(unknown)) {
    expectError(t, await post(app, headers), 401, 'invalid_api_key')
    expectError(t, await get(app, headers), 401, 'invalid_api_key')
  }
  t.equal(await countLogs(app), 0, 'nothing stored')
})

void t.test('a revoked key: 401 revoked_api_key', async (t) => {
  const { app } = await buildTestApp(t)
  const { apiKey, keyId } = await issueKey(app, 'acme')
  const other = await issueKey(app, 'acme')
  await app.db.updateTable('api_keys').set({ revoked_at: new Date(Date.now() - 1000) }).where('id', '=', keyId).execute()
  expectError(t, await post(app, { 'x-api-key': apiKey }), 401, 'revoked_api_key')
  expectError(t, await get(app, { authorization: `Bearer ${apiKey}` }), 401, 'revoked_api_key')
  t.equal(await countLogs(app), 0, 'nothing stored')
  t.equal((await post(app, { 'x-api-key': other.apiKey })).statusCode, 201, 'the client\'s other key still works')
})

void t.test('an expired key: 401 expired_api_key', async (t) => {
  const { app } = await buildTestApp(t)
  const { apiKey } = await issueKey(app, 'acme', { expiresAt: new Date(Date.now() - 1000) })
  const later = await issueKey(app, 'acme', { expiresAt: new Date(Date.now() + 3_600_000) })
  expectError(t, await post(app, { 'x-api-key': apiKey }), 401, 'expired_api_key')
  expectError(t, await get(app, { authorization: `Api-Key ${apiKey}` }), 401, 'expired_api_key')
  t.equal(await countLogs(app), 0, 'nothing stored')
  t.equal((await post(app, { 'x-api-key': later.apiKey })).statusCode, 201, 'a key expiring later still works')
})

void t.test('Basic with the key as the password, and ApiKey, are accepted for shippers', async (t) => {
  const { app } = await buildTestApp(t)
  const { apiKey } = await issueKey(app, 'acme')
  const basic = (text: string): string => `Basic ${Buffer.from(text).toString('base64')}`
  const forms: Array<[string, Headers]> = [
    ['Basic, any user name', { authorization: basic(`elastic:${apiKey}`) }],
    ['Basic, empty user name', { authorization: basic(`:${apiKey}`) }],
    ['basic, lower-case scheme', { authorization: basic(`user:${apiKey}`).replace('Basic', 'basic') }],
    ['ApiKey, the raw key', { authorization: `ApiKey ${apiKey}` }],
    ['APIKEY, another case', { authorization: `APIKEY ${apiKey}` }],
    ['ApiKey, base64 of id:key', { authorization: `ApiKey ${Buffer.from(`some-id:${apiKey}`).toString('base64')}` }],
    ['Basic and the same key in X-API-Key', { authorization: basic(`u:${apiKey}`), 'x-api-key': apiKey }]
  ]
  for (const [name, headers] of forms) {
    t.equal((await post(app, headers, entry({ message: `via ${name}` }))).statusCode, 201, `POST with ${name}`)
    const read = await get(app, headers)
    t.equal(read.statusCode, 200, `GET with ${name}`)
    t.ok(read.json<LogPageBody>().data.some((log) => log.message === `via ${name}`), `GET with ${name} sees what was written`)
  }
  t.equal(await countLogs(app), forms.length)
})

void t.test('malformed Basic and ApiKey credentials: 401 with WWW-Authenticate, nothing stored', async (t) => {
  const { app } = await buildTestApp(t)
  const { apiKey } = await issueKey(app, 'acme')
  const other = await issueKey(app, 'globex')
  const credentials: Array<[string, string, string]> = [
    ['no colon', `Basic ${Buffer.from(apiKey).toString('base64')}`, 'malformed_api_key'],
    ['bad base64', 'Basic %%%not-base64%%%', 'malformed_api_key'],
    ['base64 without its padding', `Basic ${Buffer.from(`u:${apiKey}`).toString('base64').replace(/=+$/, '')}x`, 'malformed_api_key'],
    ['the key not encoded', `Basic ${apiKey}`, 'malformed_api_key'],
    ['the key as the user name, no password', `Basic ${Buffer.from(`${apiKey}:`).toString('base64')}`, 'malformed_api_key'],
    ['a password that is no key', `Basic ${Buffer.from('user:password').toString('base64')}`, 'malformed_api_key'],
    ['bytes that are not UTF-8', `Basic ${Buffer.from([0x75, 0x3a, 0xff, 0xfe]).toString('base64')}`, 'malformed_api_key'],
    ['Basic without credentials', 'Basic ', 'malformed_api_key'],
    ['ApiKey of something else', 'ApiKey c29tZTp0aGluZw==', 'malformed_api_key'],
    ['a mistyped key in ApiKey', `ApiKey ${apiKey.slice(0, -1)}${apiKey.endsWith('a') ? 'b' : 'a'}`, 'malformed_api_key'],
    ['Digest', `Digest ${apiKey}`, 'malformed_api_key'],
    ['no scheme', apiKey, 'malformed_api_key']
  ]
  for (const [what, authorization, code] of credentials) {
    for (const res of [await post(app, { authorization }), await get(app, { authorization })]) {
      expectError(t, res, 401, code)
      t.match(res.headers['www-authenticate'], /realm="central-logger"/, `${what}: WWW-Authenticate`)
    }
  }
  const conflict = await post(app, { authorization: `Basic ${Buffer.from(`u:${other.apiKey}`).toString('base64')}`, 'x-api-key': apiKey })
  expectError(t, conflict, 401, 'conflicting_api_keys')
  t.equal(await countLogs(app), 0, 'nothing stored')
})

void t.test('a revoked key and a read-only key are refused in every shipper form', async (t) => {
  const { app } = await buildTestApp(t)
  const revoked = await issueKey(app, 'acme')
  const readOnly = await issueKey(app, 'acme', { scopes: ['logs:read'] })
  await revokeKey(app.db, { keyId: revoked.keyId, scope: EVERY_CLIENT }, { actor: 'cli:test' })
  for (const header of [(key: string) => `Basic ${Buffer.from(`u:${key}`).toString('base64')}`, (key: string) => `ApiKey ${key}`]) {
    expectError(t, await post(app, { authorization: header(revoked.apiKey) }), 401, 'revoked_api_key')
    expectError(t, await post(app, { authorization: header(readOnly.apiKey) }), 403, 'insufficient_scope')
  }
  t.equal(await countLogs(app), 0, 'nothing stored')
})

void t.test('two different keys in one request: 401 conflicting_api_keys', async (t) => {
  const { app } = await buildTestApp(t)
  const first = await issueKey(app, 'acme')
  const second = await issueKey(app, 'acme')
  const foreign = await issueKey(app, 'globex')
  for (const other of [second.apiKey, foreign.apiKey, generateKey()]) {
    for (const scheme of ['Bearer', 'Api-Key']) {
      const headers = { 'x-api-key': first.apiKey, authorization: `${scheme} ${other}` }
      expectError(t, await post(app, headers), 401, 'conflicting_api_keys')
      expectError(t, await get(app, headers), 401, 'conflicting_api_keys')
    }
  }
  t.equal(await countLogs(app), 0, 'nothing stored')
})

void t.test('the same key in X-API-Key and Authorization is accepted', async (t) => {
  const { app } = await buildTestApp(t)
  const { apiKey } = await issueKey(app, 'acme')
  for (const scheme of ['Bearer', 'api-key']) {
    const headers = { 'x-api-key': apiKey, authorization: `${scheme} ${apiKey}` }
    t.equal((await post(app, headers)).statusCode, 201, `POST, ${scheme}`)
    t.equal((await get(app, headers)).statusCode, 200, `GET, ${scheme}`)
  }
  t.equal(await countLogs(app), 2)
})

void t.test('a key lacking the route\'s scope: 403 insufficient_scope naming it', async (t) => {
  const { app } = await buildTestApp(t)
  const writeOnly = await issueKey(app, 'acme', { scopes: ['logs:write'] })
  const readOnly = await issueKey(app, 'acme', { scopes: ['logs:read'] })
  const manageOnly = await issueKey(app, 'acme', { scopes: ['keys:manage'] })

  const denied = expectError(t, await get(app, { 'x-api-key': writeOnly.apiKey }), 403, 'insufficient_scope')
  t.match(denied.message, 'logs:read')
  t.same(denied.details, { required_scope: 'logs:read' })
  t.equal((await post(app, { 'x-api-key': writeOnly.apiKey }, entry({ message: 'written' }))).statusCode, 201, 'the write-only key writes')

  const refused = expectError(t, await post(app, { authorization: `Bearer ${readOnly.apiKey}` }, entry({ message: 'refused' })), 403, 'insufficient_scope')
  t.match(refused.message, 'logs:write')
  t.same(refused.details, { required_scope: 'logs:write' })
  const read = await get(app, { authorization: `Bearer ${readOnly.apiKey}` })
  t.equal(read.statusCode, 200, 'the read-only key reads')
  t.same(read.json<LogPageBody>().data.map((log) => log.message), ['written'],
    'the refused write stored nothing')

  expectError(t, await post(app, { 'x-api-key': manageOnly.apiKey }), 403, 'insufficient_scope')
  expectError(t, await get(app, { 'x-api-key': manageOnly.apiKey }), 403, 'insufficient_scope')
  t.equal(await countLogs(app), 1)
})

void t.test('a key that is refused is refused whatever the body: it is judged before the body is read', async (t) => {
  // The key is resolved before the body is parsed or decompressed: a caller
  // without a usable key learns nothing about body handling and cannot make
  // the service inflate megabytes for it.
  const { app } = await buildTestApp(t, { MAX_BODY_BYTES: String(64 * 1024) })
  const { apiKey } = await issueKey(app, 'acme')
  const revoked = await issueKey(app, 'acme')
  await revokeKey(app.db, { keyId: revoked.keyId, scope: EVERY_CLIENT }, { actor: 'cli:test' })
  const expired = await issueKey(app, 'acme', { expiresAt: new Date(Date.now() - 1000) })
  const elsewhere = await issueKey(app, 'acme', { allowedCidrs: ['192.0.2.0/24'] })
  const readOnly = await issueKey(app, 'acme', { scopes: ['logs:read'] })
  const json = { 'content-type': 'application/json' }
  const gzip = { 'content-type': 'application/json', 'content-encoding': 'gzip' }
  const bodies: Array<[string, Headers, string | Buffer]> = [
    ['invalid JSON', json, '{"environment": '],
    ['an empty JSON body', json, ''],
    ['an unsupported content type', { 'content-type': 'application/xml' }, '<log/>'],
    ['an unsupported content encoding', { 'content-type': 'application/json', 'content-encoding': 'br' }, '{}'],
    ['a corrupt gzip body', gzip, 'not gzip at all'],
    ['a body over the size limit', json, JSON.stringify([entry({ message: 'x'.repeat(100 * 1024) })])],
    ['a gzip body over the size limit once inflated', gzip, gzipSync(Buffer.alloc(1024 * 1024, ' '))]
  ]
  const callers: Array<[string, Headers, string]> = [
    ['no key', {}, 'missing_api_key'],
    ['a malformed key', { 'x-api-key': apiKey.slice(0, -1) + (apiKey.endsWith('a') ? 'b' : 'a') }, 'malformed_api_key'],
    ['a key in a foreign scheme', { authorization: 'Basic dXNlcjpwYXNz' }, 'malformed_api_key'],
    ['a well-formed key nobody holds', { 'x-api-key': generateKey() }, 'invalid_api_key'],
    ['a revoked key', { 'x-api-key': revoked.apiKey }, 'revoked_api_key'],
    ['an expired key', { 'x-api-key': expired.apiKey }, 'expired_api_key'],
    ['a key used outside its allowlist', { 'x-api-key': elsewhere.apiKey }, 'address_not_allowed'],
    ['a key without the logs:write scope', { 'x-api-key': readOnly.apiKey }, 'insufficient_scope']
  ]
  for (const [caller, auth, code] of callers) {
    for (const [what, headers, payload] of bodies) {
      const res = await app.inject({ method: 'POST', url: '/api/v1/logs', headers: { ...headers, ...auth }, payload })
      t.equal(res.json<ErrorBody>().code, code, `${caller}, ${what}: ${code}`)
      t.equal(res.statusCode, code === 'address_not_allowed' || code === 'insufficient_scope' ? 403 : 401)
      if (payload.length > 0) t.equal(res.headers.connection, 'close', 'and the connection closes rather than read a body nobody wants')
    }
  }
  // The same bodies with a good key are judged on their merits.
  const withKey = await postLogs(app, apiKey, '{"environment": ')
  expectError(t, withKey, 400)
  t.equal(await countLogs(app), 0, 'nothing stored')
})

void t.test('two Authorization headers with different keys are refused, though Node keeps only the first', async (t) => {
  const { app } = await buildTestApp(t)
  const good = await issueKey(app, 'acme')
  const port = await loopbackPort(app)
  const send = async (authorizations: string[]): Promise<{ status: number, body: ErrorBody }> => await new Promise((resolve, reject) => {
    const request = httpRequest({ host: '127.0.0.1', port, path: '/api/v1/logs', headers: ['host', `127.0.0.1:${port}`, ...authorizations.flatMap((value) => ['authorization', value])] }, (res) => {
      let text = ''
      res.setEncoding('utf8').on('data', (chunk: string) => { text += chunk })
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as ErrorBody }) })
    })
    request.on('error', reject)
    request.end()
  })
  const twoKeys = await send([`Bearer ${good.apiKey}`, `Bearer ${generateKey()}`])
  t.equal(twoKeys.status, 401)
  t.equal(twoKeys.body.code, 'conflicting_api_keys')
  t.equal((await send([`Bearer ${good.apiKey}`, `Bearer ${good.apiKey}`])).status, 200, 'the same key twice is one key')
})

// The key is judged before any byte of the body is read, over a real socket:
// a refused request is answered while its body is still on the way (or never
// sent, when the client waits for 100 Continue), and its connection closes; a
// key that changes while its body arrives is judged again before the handler.
interface Exchange {
  socket: net.Socket
  /** Everything received so far. */
  received: () => string
  /** Resolves when the text has been received (or rejects after a while). */
  waitFor: (text: string) => Promise<void>
  closed: Promise<void>
}

function connect (port: number): Exchange {
  const socket = net.connect(port, '127.0.0.1')
  let received = ''
  socket.setEncoding('utf8').on('data', (chunk: string) => { received += chunk })
  const closed = once(socket, 'close').then(() => {})
  return {
    socket,
    received: () => received,
    closed,
    waitFor: async (text) => {
      for (let i = 0; i < 400 && !received.includes(text); i++) await setTimeout(5)
      if (!received.includes(text)) throw new Error(`never received ${JSON.stringify(text)}; got ${JSON.stringify(received)}`)
    }
  }
}

function head (port: number, key: string, length: number, extra: string[] = []): string {
  return ['POST /api/v1/logs HTTP/1.1', `Host: 127.0.0.1:${port}`, 'Content-Type: application/x-ndjson', `Content-Length: ${length}`,
    `X-API-Key: ${key}`, ...extra, '', ''].join('\r\n')
}

void t.test('a made-up key is answered before its body arrives, and the connection closes', async (t) => {
  const { app } = await buildTestApp(t)
  const port = await loopbackPort(app)
  // 5 KB of gzip that would inflate to 5 MiB of lines that are not JSON.
  const bomb = gzipSync(Buffer.from('x\n'.repeat(2.5 * 1024 * 1024)))
  const exchange = connect(port)
  const lookups = app.keyResolver.lookups
  // Everything but the last bytes: a body that is never finished.
  exchange.socket.write(head(port, generateKey(), bomb.length, ['Content-Encoding: gzip']))
  exchange.socket.write(bomb.subarray(0, bomb.length - 8))
  await exchange.closed
  t.match(exchange.received(), /^HTTP\/1\.1 401 /, 'answered 401 without the rest of the body')
  t.match(exchange.received(), /connection: close/i)
  t.match(exchange.received(), /"code":"invalid_api_key"/)
  t.equal(app.keyResolver.lookups - lookups, 1, 'one lookup, and nothing inflated or parsed')
})

void t.test('a client that waits for 100 Continue sends no body when its key is refused', async (t) => {
  const { app } = await buildTestApp(t)
  const good = await issueKey(app, 'acme')
  const port = await loopbackPort(app)
  const body = `${JSON.stringify(entry({ message: 'after 100 Continue' }))}\n`

  const refused = connect(port)
  refused.socket.write(head(port, generateKey(), body.length, ['Expect: 100-continue']))
  await refused.closed
  t.match(refused.received(), /^HTTP\/1\.1 401 /, 'the final answer comes first')
  t.notMatch(refused.received(), /100 Continue/, 'never told to go on')

  const accepted = connect(port)
  accepted.socket.write(head(port, good.apiKey, body.length, ['Expect: 100-continue']))
  await accepted.waitFor('HTTP/1.1 100 Continue\r\n\r\n')
  t.notMatch(accepted.received(), /201/, 'told to go on, and nothing answered yet')
  accepted.socket.write(body)
  await accepted.waitFor('"accepted":1')
  t.match(accepted.received(), /HTTP\/1\.1 201 /)
  accepted.socket.end()
  t.equal(await countLogs(app), 1)
})

void t.test('a key revoked while its body arrives is refused before the handler', async (t) => {
  const { app } = await buildTestApp(t)
  const doomed = await issueKey(app, 'acme')
  const port = await loopbackPort(app)
  const body = `${JSON.stringify(entry())}\n`
  const exchange = connect(port)
  exchange.socket.write(head(port, doomed.apiKey, body.length))
  exchange.socket.write(body.slice(0, 10))
  // The key was resolved when the headers came; now it is revoked elsewhere (the CLI, another instance).
  for (let i = 0; i < 100 && app.keyResolver.cached(doomed.apiKey) === undefined; i++) await setTimeout(5)
  const generation = app.keyResolver.generation
  await revokeKey(app.db, { keyId: doomed.keyId, scope: EVERY_CLIENT }, { actor: 'cli:test' })
  for (let i = 0; i < 200 && app.keyResolver.generation === generation; i++) await setTimeout(5)
  exchange.socket.write(body.slice(10))
  await exchange.waitFor('revoked_api_key')
  t.match(exchange.received(), /^HTTP\/1\.1 401 /)
  exchange.socket.end()
  t.equal(await countLogs(app), 0, 'nothing stored')
})

void t.test('an accepted key costs one lookup, then none: the preHandler takes the resolution made on request', async (t) => {
  const { app } = await buildTestApp(t)
  const good = await issueKey(app, 'acme')
  const lookups = app.keyResolver.lookups
  for (let i = 0; i < 5; i++) {
    const res = await app.inject({ method: 'POST', url: '/api/v1/logs', headers: { 'x-api-key': good.apiKey }, payload: entry() })
    t.equal(res.statusCode, 201)
  }
  t.equal(app.keyResolver.lookups - lookups, 1)
})
