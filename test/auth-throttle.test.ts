// Failed-authentication throttling: an address that keeps sending bad keys is
// answered 429 before its key is looked at, for a cooling-off period, while
// another address is not affected; the refusals are audited and counted in
// usage; with Redis, instances count together.
import { setTimeout } from 'node:timers/promises'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import t from 'tap'
import { generateKey } from '../src/keys/format.ts'
import { AuthThrottle } from '../src/keys/auth-throttle.ts'
import { revokeKey } from '../src/keys/lifecycle.ts'
import { usage } from '../src/cli/commands/usage.ts'
import { buildTestApp, callApi, expectError, issueKey, testRedis } from './helper.ts'

const ATTACKER = '203.0.113.66'
const NEIGHBOUR = '198.51.100.7'

async function read (app: FastifyInstance, apiKey: string, remoteAddress: string): Promise<LightMyRequestResponse> {
  return await callApi(app, apiKey, 'GET', '/api/v1/logs?limit=1', undefined, { remoteAddress })
}

void t.test('past the threshold, an address is answered 429 before its key is looked at; others are not', async (t) => {
  const { app } = await buildTestApp(t, { AUTH_FAIL_MAX: '5', AUTH_FAIL_WINDOW_SECONDS: '60', AUTH_FAIL_COOLDOWN_SECONDS: '2' })
  const good = await issueKey(app, 'acme')
  const bad = ['clk_nope', generateKey(), generateKey(), 'x', generateKey()]
  for (const key of bad) expectError(t, await read(app, key, ATTACKER), 401)
  expectError(t, await read(app, generateKey(), ATTACKER), 401, 'invalid_api_key')

  const throttled = await read(app, good.apiKey, ATTACKER)
  const body = expectError(t, throttled, 429, 'auth_throttled')
  t.ok(Number(throttled.headers['retry-after']) >= 1, 'Retry-After says how long')
  t.match(body.message, /failed authentications from this address/)
  t.equal((await read(app, good.apiKey, NEIGHBOUR)).statusCode, 200, 'a good client at another address is not affected')
  expectError(t, await read(app, generateKey(), NEIGHBOUR), 401, 'invalid_api_key')

  await app.audit.flush()
  const rows = await app.db.selectFrom('audit_events').select(['reason', 'address', 'details']).where('reason', '=', 'auth_throttled').execute()
  t.equal(rows.length, 1, 'the throttled request is audited')
  t.equal(rows[0]?.address, ATTACKER)

  await setTimeout(2100)
  t.equal((await read(app, good.apiKey, ATTACKER)).statusCode, 200, 'after the cooling-off period the address is heard again')
})

void t.test('the throttle counts within its window and forgets after it', async (t) => {
  const throttle = new AuthThrottle({ maxFailures: 2, windowMs: 1000, cooldownMs: 5000 })
  t.equal(throttle.fail('a', 0), false)
  t.equal(throttle.fail('a', 500), false)
  t.equal(throttle.fail('a', 1500), false, 'a new window starts after the old one ends')
  t.equal(throttle.fail('a', 1600), false)
  t.equal(throttle.fail('a', 1700), true, 'the third failure within one window blocks')
  t.equal(throttle.waitFor('a', 1700), 5)
  t.equal(throttle.waitFor('a', 6700), 0, 'and the block ends with the cooling-off period')
  t.equal(throttle.waitFor('b', 1700), 0, 'another address is not blocked')
  const off = new AuthThrottle({ maxFailures: 0, windowMs: 1000, cooldownMs: 5000 })
  const blocked = Array.from({ length: 100 }, (_, i) => off.fail('a', i)).some(Boolean)
  t.equal(blocked, false, 'AUTH_FAIL_MAX=0 never blocks')
  t.equal(off.waitFor('a', 100), 0)
})

void t.test('refusals are counted in usage: by client where the key is known, for the provider where not', async (t) => {
  const { app } = await buildTestApp(t, { AUTH_FAIL_MAX: '3', AUTH_FAIL_COOLDOWN_SECONDS: '60' })
  const acme = await issueKey(app, 'acme')
  await revokeKey(app.db, { keyId: acme.keyId }, { actor: 'cli:test' })
  expectError(t, await read(app, acme.apiKey, NEIGHBOUR), 401, 'revoked_api_key')
  // The fourth failure passes AUTH_FAIL_MAX and starts the cooling-off period.
  for (let i = 0; i < 4; i++) expectError(t, await read(app, generateKey(), ATTACKER), 401, 'invalid_api_key')
  for (let i = 0; i < 2; i++) expectError(t, await read(app, generateKey(), ATTACKER), 429, 'auth_throttled')
  await Promise.all([app.usage.flush(), app.audit.flush()])

  const report = await usage(app.db, { days: '1' })
  const json = report.json as { clients: Array<{ client_name: string, total: { auth_failures: number, requests: number } }>, unattributed_auth_failures: unknown[] }
  t.match(json.clients, [{ client_name: 'acme', total: { auth_failures: 1, requests: 0 } }], 'the revoked key\'s use is charged to its client')
  t.match(json.unattributed_auth_failures, [{ failures: 6, throttled: 2 }], 'made-up keys and throttled answers are the provider\'s to see')
  t.match(report.text, /1 refused authentications/)
  t.match(report.text, /6 failures \(2 throttled\)/)
  const own = await usage(app.db, { days: '1', clientName: 'acme' })
  t.same((own.json as { unattributed_auth_failures: unknown[] }).unattributed_auth_failures, [], 'a one-client report holds no one else\'s failures')
})

const redis = testRedis(t, 'failed authentications shared through Redis are not tested')

void t.test('with Redis, failures spread over instances add up, and the block reaches every instance', { skip: redis.skip }, async (t) => {
  const address = `203.0.113.${Math.floor(Math.random() * 200) + 1}`
  const env = { AUTH_FAIL_MAX: '4', AUTH_FAIL_WINDOW_SECONDS: '60', AUTH_FAIL_COOLDOWN_SECONDS: '60', REDIS_URL: redis.url }
  const a = await buildTestApp(t, env)
  const b = await buildTestApp(t, { ...env, DATABASE_URL: a.databaseUrl })
  const good = await issueKey(a.app, 'acme')
  await setTimeout(200) // both subscribed
  // Five failures in all, never more than three on one instance: neither would block on its own.
  for (const app of [a.app, b.app, a.app, b.app, a.app]) expectError(t, await read(app, generateKey(), address), 401, 'invalid_api_key')
  let blockedOnB = 0
  for (let i = 0; i < 50 && blockedOnB !== 429; i++) {
    await setTimeout(10)
    blockedOnB = (await read(b.app, good.apiKey, address)).statusCode
  }
  t.equal(blockedOnB, 429, 'the other instance answers 429 too')
  expectError(t, await read(a.app, good.apiKey, address), 429, 'auth_throttled')
  t.equal((await read(b.app, good.apiKey, NEIGHBOUR)).statusCode, 200, 'another address is not affected')
})
