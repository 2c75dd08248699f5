// Request signing over a real socket: signed requests pass, and a replayed
// nonce, a stale timestamp, or a changed body, path, query, method or key each
// get 401 and store nothing. Nonces are single-use across instances, in
// PostgreSQL or in Redis.
import { gzipSync } from 'node:zlib'
import { setTimeout } from 'node:timers/promises'
import type { FastifyInstance } from 'fastify'
import t from 'tap'
import { issueSigningSecret, stopSigning } from '../../src/clients/settings.ts'
import { buildTestApp, countLogs, entry, issueKey, testRedis } from '../helper.ts'
import { listen, signedCall, type SignedCall } from './sign.ts'

const SIGNING_KEY = 'test-signing-key-0123456789abcdef0123456789'
const CLI = { actor: 'cli:test' }
const body = JSON.stringify(entry({ message: 'signed' }))

interface Signer { apiKey: string, clientId: string, secret: string }

async function signingClient (app: FastifyInstance, name: string): Promise<Signer> {
  const key = await issueKey(app, name)
  const { secret } = await issueSigningSecret(app.db, key.clientId, SIGNING_KEY, CLI)
  return { ...key, secret }
}

async function post (baseUrl: string, signer: Signer, overrides: Partial<SignedCall> = {}): ReturnType<typeof signedCall> {
  return await signedCall(baseUrl, { method: 'POST', target: '/api/v1/logs', body, ...signer, ...overrides })
}

void t.test('signed requests pass; replay, stale time and any changed part get 401, storing nothing', async (t) => {
  const { app } = await buildTestApp(t, { SIGNING_KEY })
  const acme = await signingClient(app, 'acme')
  const url = await listen(app)

  const first = await post(url, acme)
  t.equal(first.status, 201, 'a signed POST is stored')
  const read = await signedCall(url, { method: 'GET', target: '/api/v1/logs?status=SUCCESS&limit=5', ...acme })
  t.equal(read.status, 200, 'a signed GET with a query passes')
  const gzipped = gzipSync(Buffer.from(body))
  const zipped = await post(url, acme, { body: gzipped, headers: { 'content-encoding': 'gzip' } })
  t.equal(zipped.status, 201, 'a gzipped body is signed as sent, compressed')
  t.equal(await countLogs(app, acme.clientId), 2)

  const cases: Array<[string, () => Partial<SignedCall>, string]> = [
    ['a replayed nonce', () => ({ nonce: first.nonce }), 'nonce_reused'],
    ['a timestamp 301 s old', () => ({ timestamp: Math.floor(Date.now() / 1000) - 301 }), 'stale_timestamp'],
    // Each call made when its turn comes, the times from the clock then; ahead by
    // a few seconds more than the window, so that a second ticking over between
    // signing and checking cannot bring it back in.
    ['a timestamp 305 s ahead', () => ({ timestamp: Math.floor(Date.now() / 1000) + 305 }), 'stale_timestamp'],
    ['a changed body', () => ({ sign: { body: JSON.stringify(entry({ message: 'other' })) } }), 'invalid_signature'],
    ['a changed path', () => ({ sign: { target: '/api/v1/logz' } }), 'invalid_signature'],
    ['a changed query', () => ({ target: '/api/v1/logs?partial=true', sign: { target: '/api/v1/logs' } }), 'invalid_signature'],
    ['a changed method', () => ({ sign: { method: 'PUT' } }), 'invalid_signature'],
    ['another key signed', () => ({ sign: { apiKey: 'clk_other' } }), 'invalid_signature'],
    ['another secret', () => ({ secret: 'cls_guess' }), 'invalid_signature'],
    ['a gzipped body signed decompressed', () => ({ body: gzipped, headers: { 'content-encoding': 'gzip' }, sign: { body } }), 'invalid_signature'],
    ['a short nonce', () => ({ nonce: 'abc' }), 'invalid_nonce'],
    ['a timestamp in milliseconds', () => ({ timestamp: Date.now() }), 'invalid_timestamp']
  ]
  for (const [name, overrides, code] of cases) {
    const res = await post(url, acme, overrides())
    t.equal(res.status, 401, `${name}: 401`)
    t.equal(res.body.code, code, `${name}: ${code}`)
    t.ok(res.headers.get('www-authenticate'), `${name}: WWW-Authenticate`)
  }
  for (const [name, headers, code] of [
    ['no signature headers', { 'x-api-timestamp': '', 'x-api-nonce': '', 'x-api-signature': '' }, 'signature_required'],
    ['a timestamp that is no number', { 'x-api-timestamp': '12e3' }, 'invalid_timestamp'],
    ['a signature that is no hex', { 'x-api-signature': 'z'.repeat(64) }, 'invalid_signature']
  ] as const) {
    const res = await post(url, acme, { headers })
    t.equal(res.body.code, code, `${name}: ${code}`)
  }
  const unsigned = await fetch(`${url}/api/v1/logs`, { headers: { 'x-api-key': acme.apiKey } })
  t.equal(unsigned.status, 401)
  t.match(await unsigned.json(), { code: 'signature_required', details: { missing_headers: ['x-api-timestamp', 'x-api-nonce', 'x-api-signature'] } })
  t.equal(await countLogs(app), 2, 'no refused request stored anything')

  await Promise.all([app.audit.flush(), app.usage.flush()])
  const failures = await app.db.selectFrom('audit_events').select(['reason', 'client_id']).where('event', '=', 'auth.failed').execute()
  t.ok(failures.some((row) => row.reason === 'nonce_reused' && row.client_id === acme.clientId), 'failures are audited with the client')
  const usage = await app.db.selectFrom('usage_daily').select(['requests', 'rejected_requests', 'auth_failures'])
    .where('client_id', '=', acme.clientId).executeTakeFirstOrThrow()
  t.same(usage, { requests: 3, rejected_requests: 0, auth_failures: 16 },
    'the three answered requests are the client\'s requests; each refusal an authentication failure, counted once')
})

void t.test('a forged request does not use up the nonce it names', async (t) => {
  const { app } = await buildTestApp(t, { SIGNING_KEY })
  const acme = await signingClient(app, 'acme')
  const url = await listen(app)
  const nonce = 'nonce-chosen-by-an-attacker-1'
  t.equal((await post(url, acme, { nonce, secret: 'cls_forged' })).body.code, 'invalid_signature')
  t.equal((await post(url, acme, { nonce })).status, 201, 'the real client can still use it')
})

void t.test('a client that does not sign is untouched; API_SIGNING_REQUIRED makes every client sign', async (t) => {
  const { app, databaseUrl } = await buildTestApp(t, { SIGNING_KEY })
  const acme = await signingClient(app, 'acme')
  const globex = await issueKey(app, 'globex')
  const url = await listen(app)
  const plain = await fetch(`${url}/api/v1/logs`, { headers: { 'x-api-key': globex.apiKey } })
  t.equal(plain.status, 200, 'globex does not sign and need not')
  const ignored = await fetch(`${url}/api/v1/logs`, { headers: { 'x-api-key': globex.apiKey, 'x-api-signature': 'junk' } })
  t.equal(ignored.status, 200, 'signature headers from a client that does not sign are ignored')
  t.equal((await post(url, acme)).status, 201)

  const devKey = 'dev-key-for-a-signing-shipper'
  const devSecret = 'dev-signing-secret-of-the-shipper'
  const strict = await buildTestApp(t, {
    SIGNING_KEY,
    API_SIGNING_REQUIRED: 'true',
    API_KEY_SHIPPER: `${devKey}:${acme.clientId}:acme:${devSecret}`,
    DATABASE_URL: databaseUrl
  })
  const strictUrlBase = await listen(strict.app)
  const refused = await fetch(`${strictUrlBase}/api/v1/logs`, { headers: { 'x-api-key': globex.apiKey } })
  t.equal(refused.status, 401)
  t.match(await refused.json(), { code: 'signing_not_set_up' })
  const stillPlain = await signedCall(strictUrlBase, { method: 'GET', target: '/api/v1/logs', apiKey: globex.apiKey, secret: 'cls_none' })
  t.equal(stillPlain.body.code, 'signing_not_set_up', 'signing cannot be improvised without a secret')
  t.equal((await post(strictUrlBase, acme)).status, 201, 'acme signs with its secret')
  const dev = await signedCall(strictUrlBase, { method: 'GET', target: '/api/v1/logs', apiKey: devKey, secret: devSecret })
  t.equal(dev.status, 200, 'a development key signs with its own secret_key')
  const devWrong = await signedCall(strictUrlBase, { method: 'GET', target: '/api/v1/logs', apiKey: devKey, secret: acme.secret })
  t.equal(devWrong.body.code, 'invalid_signature', 'not with its client\'s')

  // Without API_SIGNING_REQUIRED, a development key of a signing client signs too, with the client's secret.
  const plainDevKey = 'dev-key-of-acme-without-a-secret'
  const lax = await buildTestApp(t, { SIGNING_KEY, API_KEYS: JSON.stringify({ [plainDevKey]: acme.clientId }), DATABASE_URL: databaseUrl })
  const laxUrl = await listen(lax.app)
  const unsignedDev = await fetch(`${laxUrl}/api/v1/logs`, { headers: { 'x-api-key': plainDevKey } })
  t.equal(unsignedDev.status, 401, 'a development key cannot skip its client\'s signing')
  t.equal((await signedCall(laxUrl, { method: 'GET', target: '/api/v1/logs', apiKey: plainDevKey, secret: acme.secret })).status, 200)
})

void t.test('a new secret replaces the old one at once; signing off accepts unsigned requests', async (t) => {
  const { app } = await buildTestApp(t, { SIGNING_KEY })
  const acme = await signingClient(app, 'acme')
  const url = await listen(app)
  t.equal((await post(url, acme)).status, 201, 'the key is now cached with its signing secret')
  const { secret } = await issueSigningSecret(app.db, acme.clientId, SIGNING_KEY, CLI)
  t.not(secret, acme.secret)
  let old = await post(url, acme)
  for (let i = 0; i < 50 && old.status !== 401; i++) {
    await setTimeout(20)
    old = await post(url, acme)
  }
  t.equal(old.body.code, 'invalid_signature', 'the old secret is refused once the change is announced')
  t.equal((await post(url, { ...acme, secret })).status, 201, 'the new one works')

  await stopSigning(app.db, acme.clientId, CLI)
  let unsigned = 0
  for (let i = 0; i < 50 && unsigned !== 200; i++) {
    await setTimeout(20)
    unsigned = (await fetch(`${url}/api/v1/logs`, { headers: { 'x-api-key': acme.apiKey } })).status
  }
  t.equal(unsigned, 200, 'signing off: unsigned requests pass')
  const events = await app.db.selectFrom('audit_events').select('details').where('event', '=', 'client.updated').orderBy('id').execute()
  t.same(events.map((row) => row.details), [
    { signing: { from: 'off', to: 'on', secret: 'issued' } },
    { signing: { from: 'on', to: 'on', secret: 'replaced' } },
    { signing: { from: 'on', to: 'off' } }
  ], 'each change is audited, never the secret')
  const dump = JSON.stringify(await app.db.selectFrom('clients').selectAll().execute()) +
    JSON.stringify(await app.db.selectFrom('audit_events').selectAll().execute())
  t.notOk(dump.includes(secret) || dump.includes(acme.secret), 'no secret is stored')
})

void t.test('without SIGNING_KEY the service cannot check a signing client: 503, nothing stored', async (t) => {
  const { app, databaseUrl } = await buildTestApp(t, { SIGNING_KEY })
  const acme = await signingClient(app, 'acme')
  const second = await buildTestApp(t, { DATABASE_URL: databaseUrl })
  const url = await listen(second.app)
  const res = await post(url, acme)
  t.equal(res.status, 503)
  t.equal(res.body.code, 'signing_unavailable')
  t.equal(await countLogs(app), 0)
})

void t.test('a nonce used on one instance is refused on another sharing PostgreSQL', async (t) => {
  const a = await buildTestApp(t, { SIGNING_KEY })
  const b = await buildTestApp(t, { SIGNING_KEY, DATABASE_URL: a.databaseUrl })
  const acme = await signingClient(a.app, 'acme')
  const [urlA, urlB] = [await listen(a.app), await listen(b.app)]
  const first = await post(urlA, acme)
  t.equal(first.status, 201)
  const replay = await post(urlB, acme, { nonce: first.nonce, timestamp: Number(first.timestamp) })
  t.equal(replay.body.code, 'nonce_reused')
  const kept = await a.app.db.selectFrom('request_nonces').select('expires_at').where('nonce', '=', first.nonce).executeTakeFirstOrThrow()
  t.equal(new Date(kept.expires_at).getTime(), (Number(first.timestamp) + 600) * 1000,
    'kept for twice the 300 s window after its timestamp, so an instance whose clock runs behind still refuses the replay')
  t.equal((await post(urlB, acme, { nonce: 'the-same-nonce-for-another-client' })).status, 201)
  const globex = await signingClient(a.app, 'globex')
  t.equal((await post(urlA, globex, { nonce: 'the-same-nonce-for-another-client' })).status, 201, 'nonces are per client')

  // An expired nonce row does not block the nonce once its window has passed.
  await a.app.db.updateTable('request_nonces').set({ expires_at: new Date(Date.now() - 1000) }).execute()
  t.equal((await post(urlA, acme, { nonce: first.nonce })).status, 201, 'an expired nonce may be used again (its timestamp is new)')
  t.ok(await a.app.db.selectFrom('request_nonces').select('nonce').where('expires_at', '<', new Date()).executeTakeFirst() !== undefined, 'others are still expired')
  await a.app.nonces.close()
})

const redis = testRedis(t, 'the Redis nonce store is not tested')

void t.test('with Redis, a nonce used on one instance is refused on another', { skip: redis.skip }, async (t) => {
  const a = await buildTestApp(t, { SIGNING_KEY, REDIS_URL: redis.url })
  const b = await buildTestApp(t, { SIGNING_KEY, REDIS_URL: redis.url, DATABASE_URL: a.databaseUrl })
  const acme = await signingClient(a.app, 'acme')
  const [urlA, urlB] = [await listen(a.app), await listen(b.app)]
  const first = await post(urlA, acme)
  t.equal(first.status, 201)
  t.equal((await post(urlB, acme, { nonce: first.nonce })).body.code, 'nonce_reused')
  t.equal(await a.app.db.selectFrom('request_nonces').select('nonce').executeTakeFirst(), undefined, 'nothing was written to PostgreSQL')
})

void t.test('with Redis unreachable, a signed request is refused 503 rather than risk a replay', async (t) => {
  const { app } = await buildTestApp(t, { SIGNING_KEY, REDIS_URL: 'redis://127.0.0.1:1' })
  const acme = await signingClient(app, 'acme')
  const url = await listen(app)
  const res = await post(url, acme)
  t.equal(res.status, 503)
  t.equal(res.body.code, 'nonce_store_unavailable')
  t.equal(res.headers.get('retry-after'), '1')
  t.equal(await countLogs(app), 0)
})

void t.test('a signed request over the rate limit writes no nonce and leaves it unused', async (t) => {
  const { app } = await buildTestApp(t, { SIGNING_KEY, RATE_LIMIT_MAX: '2', RATE_LIMIT_WINDOW: '1h' })
  const acme = await signingClient(app, 'acme')
  const url = await listen(app)
  for (let i = 0; i < 2; i++) t.equal((await post(url, acme)).status, 201)
  const limited = await post(url, acme, { nonce: 'a-nonce-refused-for-the-rate-limit' })
  t.equal(limited.status, 429)
  t.equal(limited.body.code, 'rate_limited')
  const rows = await app.db.selectFrom('request_nonces').select('nonce').execute()
  t.equal(rows.length, 2, 'only the answered requests used their nonces')
  t.notOk(rows.some((row) => row.nonce === 'a-nonce-refused-for-the-rate-limit'))
  const forged = await post(url, acme, { secret: 'cls_forged' })
  t.equal(forged.body.code, 'invalid_signature', 'a forged request is refused for its signature, before the rate limit')
})
