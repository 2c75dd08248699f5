// Per-client rate limits: a client at its limit gets 429 with Retry-After and
// x-ratelimit-* headers while another client is untouched; all of a client's
// keys share one budget; with Redis, several instances share it too.
import { setTimeout } from 'node:timers/promises'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import t, { type Test } from 'tap'
import { create } from '../src/cli/commands/create.ts'
import { limit, limitOption } from '../src/cli/commands/limit.ts'
import { buildTestApp, callApi, expectError, issueKey, testRedis, entry, postLogs } from './helper.ts'
import net from 'node:net'
import { issueSigningSecret } from '../src/clients/settings.ts'
import { listen, signedCall } from './signing/sign.ts'

const LIMITED = { RATE_LIMIT_MAX: '3', RATE_LIMIT_WINDOW: '1h' }
const DEFAULTS = { rateLimit: 3, window: '1h', ingestRateLimit: 60000, ingestBytesLimit: 64 * 1024 * 1024, storageQuotaBytes: 0, maxBodyBytes: 5 * 1024 * 1024 }

async function read (app: FastifyInstance, apiKey: string): Promise<LightMyRequestResponse> {
  return await callApi(app, apiKey, 'GET', '/api/v1/logs?limit=1')
}

void t.test('a client at its limit gets 429; another client is not slowed', async (t) => {
  const { app } = await buildTestApp(t, LIMITED)
  const acme = await issueKey(app, 'acme')
  const acmeSecond = await issueKey(app, 'acme')
  const globex = await issueKey(app, 'globex')

  const first = await read(app, acme.apiKey)
  t.equal(first.statusCode, 200)
  t.equal(first.headers['x-ratelimit-limit'], '3')
  t.equal(first.headers['x-ratelimit-remaining'], '2')
  t.ok(Number(first.headers['x-ratelimit-reset']) > 0, 'says when the window resets')
  t.equal((await read(app, acme.apiKey)).statusCode, 200)
  t.equal((await read(app, acmeSecond.apiKey)).statusCode, 200, 'a second key of the client spends the same budget')

  const refused = await read(app, acmeSecond.apiKey)
  const body = expectError(t, refused, 429, 'rate_limited')
  t.match(body.message, /more than 3 requests/)
  t.ok(Number(refused.headers['retry-after']) > 0, 'Retry-After is set')
  t.equal(refused.headers['x-ratelimit-remaining'], '0')
  expectError(t, await read(app, acme.apiKey), 429, 'rate_limited')

  for (let i = 0; i < 3; i++) t.equal((await read(app, globex.apiKey)).statusCode, 200, `globex request ${i + 1} passes`)

  await app.usage.flush()
  const usage = await app.db.selectFrom('usage_daily').select(['requests', 'rate_limited', 'rejected_requests'])
    .where('client_id', '=', acme.clientId).executeTakeFirstOrThrow()
  t.same(usage, { requests: 5, rate_limited: 2, rejected_requests: 2 }, 'the refusals are counted in usage')
})

void t.test('a refused key is refused before it spends the budget', async (t) => {
  const { app } = await buildTestApp(t, LIMITED)
  const acme = await issueKey(app, 'acme')
  const writer = await issueKey(app, 'acme', { scopes: ['logs:write'] })
  for (let i = 0; i < 5; i++) expectError(t, await read(app, writer.apiKey), 403, 'insufficient_scope')
  t.equal((await read(app, acme.apiKey)).statusCode, 200, 'requests refused for their scope spent nothing')
})

const redis = testRedis(t, 'the budget shared through Redis cannot be tested without one')

void t.test('with Redis, two instances enforce one budget per client', { skip: redis.skip }, async (t) => {
  const one = await buildTestApp(t, { ...LIMITED, REDIS_URL: redis.url })
  const two = await buildTestApp(t, { ...LIMITED, REDIS_URL: redis.url, DATABASE_URL: one.databaseUrl })
  const acme = await issueKey(one.app, 'acme')
  const globex = await issueKey(one.app, 'globex')
  t.equal((await read(one.app, acme.apiKey)).statusCode, 200)
  t.equal((await read(two.app, acme.apiKey)).statusCode, 200)
  const third = await read(one.app, acme.apiKey)
  t.equal(third.headers['x-ratelimit-remaining'], '0', 'the other instance\'s requests were counted')
  expectError(t, await read(two.app, acme.apiKey), 429, 'rate_limited')
  expectError(t, await read(one.app, acme.apiKey), 429, 'rate_limited')
  t.equal((await read(two.app, globex.apiKey)).statusCode, 200, 'another client still passes')
})

void t.test('Redis unreachable: requests are still answered, with a warning', async (t) => {
  const { app, logLines } = await buildTestApp(t, { ...LIMITED, REDIS_URL: 'redis://127.0.0.1:1' })
  const acme = await issueKey(app, 'acme')
  for (let i = 0; i < 5; i++) t.equal((await read(app, acme.apiKey)).statusCode, 200, `request ${i + 1} answered`)
  t.ok(logLines().some((line) => line.includes('Redis unreachable')), 'the outage is logged')
})

void t.test('a client\'s own limit, set by the provider, applies on a running instance at once', async (t) => {
  const { app } = await buildTestApp(t, LIMITED)
  const acme = await issueKey(app, 'acme')
  const globex = await issueKey(app, 'globex')
  t.equal((await read(app, acme.apiKey)).headers['x-ratelimit-limit'], '3', 'the service\'s default first (and the key is now cached)')

  const raised = await limit(app.db, { clientName: 'acme', requests: '5', defaults: DEFAULTS })
  t.match(raised.json, { client_name: 'acme', rate_limit: 5, effective_rate_limit: 5, changed: true })
  let seen: string | undefined
  for (let i = 0; i < 50 && seen !== '5'; i++) {
    await setTimeout(20)
    seen = (await read(app, acme.apiKey)).headers['x-ratelimit-limit'] as string | undefined
  }
  t.equal(seen, '5', 'the change reached the cached key through the change notification')
  let passed = 0
  for (let i = 0; i < 6; i++) if ((await read(app, acme.apiKey)).statusCode === 200) passed++
  t.ok(passed < 6, 'acme is limited at its own figure')
  t.equal((await read(app, globex.apiKey)).headers['x-ratelimit-limit'], '3', 'globex keeps the default')

  await limit(app.db, { clientName: 'acme', requests: 'default', defaults: DEFAULTS })
  const audit = await app.db.selectFrom('audit_events').select(['details', 'actor']).where('event', '=', 'client.updated').orderBy('id').execute()
  t.same(audit.map((row) => row.details), [{ rate_limit: { from: null, to: 5 } }, { rate_limit: { from: 5, to: null } }], 'each change is audited')
  t.match(audit[0]?.actor, /^cli:/)

  t.throws(() => limitOption('--rate-limit', '0'), /must be a whole number from 1/)
  t.throws(() => limitOption('--rate-limit', '-5'), /must be a whole number from 1/)
  t.equal(limitOption('--rate-limit', 'default'), null)
  await t.rejects(limit(app.db, { clientName: 'nobody', requests: '5', defaults: DEFAULTS }), /No client named "nobody"/)
})

void t.test('create --rate-limit sets the client\'s limit with its first key', async (t) => {
  const { app } = await buildTestApp(t, LIMITED)
  const created = await create(app.db, { clientName: 'acme', rateLimit: '2', publicUrl: 'http://127.0.0.1:3000' })
  const { api_key: apiKey } = created.json as { api_key: string }
  t.match(created.json, { rate_limit: 2 })
  t.match(created.text, /Limits: {3}2 requests per window/)
  t.equal((await read(app, apiKey)).headers['x-ratelimit-limit'], '2')
  await t.rejects(create(app.db, { clientName: 'globex', rateLimit: 'lots', publicUrl: 'http://127.0.0.1:3000' }), /--rate-limit "lots"/)
  t.equal(await app.db.selectFrom('clients').select('id').where('name', '=', 'globex').executeTakeFirst(), undefined, 'a bad limit creates nothing')
})

// A Redis that accepts connections and then stops answering (a partition, a
// failover, a paused server) must not hold requests: each use of Redis gives
// up after a short timeout and falls back as it does when Redis is down.
/** A Redis impostor: it answers the connection's readiness check (INFO), then nothing at all. */
async function silentRedis (t: Test): Promise<string> {
  const sockets = new Set<net.Socket>()
  const server = net.createServer((socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => {})
    socket.on('data', (chunk) => {
      if (/info/i.test(chunk.toString())) socket.write('$11\r\nloading:0\r\n\r\n')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => {
    for (const socket of sockets) socket.destroy()
    await new Promise((resolve) => server.close(resolve))
  })
  const address = server.address() as net.AddressInfo
  return `redis://127.0.0.1:${address.port}`
}

const SIGNING_KEY = 'stall-test-signing-key-0123456789abcdef012'

void t.test('with Redis silent, requests are answered: unlimited, and signed ones 503', async (t) => {
  const redisUrl = await silentRedis(t)
  const { app } = await buildTestApp(t, { REDIS_URL: redisUrl, SIGNING_KEY, AUTH_FAIL_MAX: '30' })
  const key = await issueKey(app, 'acme')
  const signer = await issueKey(app, 'initech')
  const { secret } = await issueSigningSecret(app.db, signer.clientId, SIGNING_KEY, { actor: 'cli:test' })
  const url = await listen(app)
  await setTimeout(200) // connected and "ready"

  // Each would hang for good without a command timeout; the file's own timeout would then fail it.
  const read = await app.inject({ method: 'GET', url: '/api/v1/logs', headers: { 'x-api-key': key.apiKey } })
  t.equal(read.statusCode, 200, 'a read is answered without a rate limit')
  t.equal((await postLogs(app, key.apiKey, [entry(), entry()])).statusCode, 201, 'ingest goes on without a volume limit')
  const badKey = await app.inject({ method: 'GET', url: '/api/v1/logs', headers: { 'x-api-key': 'clk_nope' } })
  t.equal(badKey.statusCode, 401, 'a failed authentication is answered (its shared count is given up)')
  const signed = await signedCall(url, { method: 'GET', target: '/api/v1/logs', apiKey: signer.apiKey, secret })
  t.equal(signed.status, 503, 'a signed request cannot have its nonce recorded: 503, not a hang')
  t.equal(signed.body.code, 'nonce_store_unavailable')
})
