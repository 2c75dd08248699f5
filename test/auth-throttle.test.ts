// Failed-authentication throttling: an address group that keeps failing is
// blocked for a cooling-off period, during which the keys it sends that
// cannot exist cost no lookup, while a real key from there still works and
// another address is not affected; failures in flight count, so a burst
// cannot outrun the threshold; refusals are audited and counted in usage; the
// provider lists and clears blocks on every instance; with Redis, instances
// count together, within their own REDIS_PREFIX.
import { setTimeout } from 'node:timers/promises'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import t from 'tap'
import { generateKey } from '../src/keys/format.ts'
import { AuthThrottle } from '../src/auth/auth-throttle.ts'
import { revokeKey } from '../src/keys/lifecycle.ts'
import { usage } from '../src/cli/commands/usage.ts'
import { buildTestApp, callApi, expectError, issueKey, testRedis } from './helper.ts'
import { keys } from './cli/run.ts'
import { EVERY_CLIENT } from '../src/provider/every-client.ts'

const ATTACKER = '203.0.113.66'
const NEIGHBOUR = '198.51.100.7'

async function read (app: FastifyInstance, apiKey: string, remoteAddress: string): Promise<LightMyRequestResponse> {
  return await callApi(app, apiKey, 'GET', '/api/v1/logs?limit=1', undefined, { remoteAddress })
}

async function noKey (app: FastifyInstance, remoteAddress: string): Promise<LightMyRequestResponse> {
  return await app.inject({ method: 'GET', url: '/api/v1/logs', remoteAddress })
}

/** A key created straight in the database reaches the key directory through its creation notification. */
async function knownToDirectory (app: FastifyInstance, apiKey: string): Promise<void> {
  for (let i = 0; i < 200 && !app.keyResolver.mayExist(apiKey); i++) await setTimeout(5)
  if (!app.keyResolver.mayExist(apiKey)) throw new Error('the key\'s creation was not heard of')
}

void t.test('past the threshold, made-up keys are answered 429 without a lookup; real keys and other addresses are not', async (t) => {
  const { app } = await buildTestApp(t, { AUTH_FAIL_MAX: '5', AUTH_FAIL_WINDOW_SECONDS: '60', AUTH_FAIL_COOLDOWN_SECONDS: '2' })
  const used = await issueKey(app, 'acme')
  const unused = await issueKey(app, 'acme')
  t.equal((await read(app, used.apiKey, ATTACKER)).statusCode, 200, 'a key in use (now cached) works')
  for (const key of ['clk_nope', generateKey(), 'x', generateKey(), generateKey()]) expectError(t, await read(app, key, ATTACKER), 401)

  const lookups = app.keyResolver.lookups
  const throttled = await read(app, generateKey(), ATTACKER)
  const body = expectError(t, throttled, 429, 'auth_throttled')
  t.ok(Number(throttled.headers['retry-after']) >= 1, 'Retry-After says how long')
  t.match(body.message, /failed authentications from this address/)
  expectError(t, await read(app, generateKey(), ATTACKER), 429, 'auth_throttled')
  expectError(t, await noKey(app, ATTACKER), 429, 'auth_throttled')
  t.equal(app.keyResolver.lookups, lookups, 'keys that cannot exist cost no lookup from a throttled address')

  t.equal((await read(app, used.apiKey, ATTACKER)).statusCode, 200, 'a cached real key from the throttled address works')
  app.keyResolver.clear()
  await knownToDirectory(app, unused.apiKey)
  t.equal((await read(app, unused.apiKey, ATTACKER)).statusCode, 200, 'so does a real key never seen before (one lookup)')
  t.equal(app.keyResolver.lookups, lookups + 1)
  t.equal((await read(app, used.apiKey, NEIGHBOUR)).statusCode, 200, 'a client at another address is not affected')
  expectError(t, await read(app, generateKey(), NEIGHBOUR), 401, 'invalid_api_key')

  await app.audit.flush()
  const rows = await app.db.selectFrom('audit_events').select(['reason', 'address', 'details']).where('reason', '=', 'auth_throttled').execute()
  t.ok(rows.length >= 1 && rows.every((row) => row.address === ATTACKER), 'the throttled requests are audited')

  await setTimeout(2100)
  expectError(t, await read(app, generateKey(), ATTACKER), 401, 'invalid_api_key')
  t.pass('after the cooling-off period the address is heard again')
})

void t.test('a burst of made-up keys at once costs no more lookups than the threshold', async (t) => {
  const { app } = await buildTestApp(t, { AUTH_FAIL_MAX: '30', AUTH_FAIL_COOLDOWN_SECONDS: '60' })
  const good = await issueKey(app, 'acme')
  const before = app.keyResolver.lookups
  const answers = await Promise.all(Array.from({ length: 1000 }, async () => await read(app, generateKey(), ATTACKER)))
  const lookups = app.keyResolver.lookups - before
  t.ok(lookups <= 30, `${lookups} lookups for 1,000 concurrent made-up keys (at most AUTH_FAIL_MAX)`)
  const statuses = new Map<number, number>()
  for (const res of answers) statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1)
  t.same([...statuses.keys()].filter((status) => status !== 401 && status !== 429), [], `every one is refused: ${JSON.stringify([...statuses])}`)
  t.ok(answers.filter((res) => res.statusCode === 429).length >= 1000 - lookups, 'those not looked up as throttled')
  await knownToDirectory(app, good.apiKey)
  t.equal((await read(app, good.apiKey, ATTACKER)).statusCode, 200, 'and the address\'s real key still works')
})

void t.test('requests without a key block the address, never its real keys', async (t) => {
  const { app } = await buildTestApp(t, { AUTH_FAIL_MAX: '30', AUTH_FAIL_COOLDOWN_SECONDS: '300' })
  const good = await issueKey(app, 'acme')
  for (let i = 0; i < 31; i++) expectError(t, await noKey(app, ATTACKER), 401, 'missing_api_key')
  expectError(t, await noKey(app, ATTACKER), 429, 'auth_throttled')
  await knownToDirectory(app, good.apiKey)
  t.equal((await read(app, good.apiKey, ATTACKER)).statusCode, 200, 'a valid key from the blocked address is served')
  t.equal((await read(app, good.apiKey, ATTACKER)).statusCode, 200, 'again, from the cache')
})

void t.test('an IPv6 client is counted by its /64', async (t) => {
  const { app } = await buildTestApp(t, { AUTH_FAIL_MAX: '3', AUTH_FAIL_COOLDOWN_SECONDS: '60' })
  for (let i = 1; i <= 4; i++) expectError(t, await noKey(app, `2001:db8:1:2::${i}`), 401, 'missing_api_key')
  expectError(t, await noKey(app, '2001:db8:1:2:ffff::9'), 429, 'auth_throttled')
  expectError(t, await noKey(app, '2001:db8:1:3::1'), 401, 'missing_api_key')
  t.pass('another /64 is another address')
})

void t.test('the throttle counts within its window, with lookups in flight, and forgets after it', async (t) => {
  const throttle = new AuthThrottle({ maxFailures: 2, windowMs: 1000, cooldownMs: 5000 })
  t.equal(throttle.fail('a', 0), false)
  t.equal(throttle.fail('a', 500), false)
  t.equal(throttle.holdFor('a', 600), 1, 'at the threshold, another lookup waits until the window ends')
  t.equal(throttle.fail('a', 1500), false, 'a new window starts after the old one ends')
  t.equal(throttle.holdFor('a', 1500), 0)
  const end = throttle.begin('a')
  t.equal(throttle.holdFor('a', 1500), 1, 'a failure and a lookup in flight reach the threshold of two')
  end()
  end()
  t.equal(throttle.holdFor('a', 1500), 0, 'the lookup ended (once, however often it says so)')
  t.equal(throttle.fail('a', 1600), false)
  t.equal(throttle.fail('a', 1700), true, 'the third failure within one window blocks')
  t.equal(throttle.waitFor('a', 1700), 5)
  t.equal(throttle.holdFor('a', 1700), 5)
  t.equal(throttle.fail('a', 1800), false, 'a failure during the block does not prolong it')
  t.equal(throttle.waitFor('a', 6700), 0, 'the block ends with the cooling-off period')
  t.equal(throttle.waitFor('b', 1700), 0, 'another address is not blocked')
  throttle.fail('c', 0)
  throttle.fail('c', 0)
  throttle.fail('c', 0)
  throttle.unblock('c')
  t.equal(throttle.holdFor('c', 1), 0, 'unblocking forgets the block and the failures')
  const off = new AuthThrottle({ maxFailures: 0, windowMs: 1000, cooldownMs: 5000 })
  const blocked = Array.from({ length: 100 }, (_, i) => off.fail('a', i)).some(Boolean)
  t.equal(blocked, false, 'AUTH_FAIL_MAX=0 never blocks')
  t.equal(off.holdFor('a', 100), 0)
})

void t.test('refusals are counted in usage: by client where the key is known, for the provider where not', async (t) => {
  const { app } = await buildTestApp(t, { AUTH_FAIL_MAX: '3', AUTH_FAIL_COOLDOWN_SECONDS: '60' })
  const acme = await issueKey(app, 'acme')
  await revokeKey(app.db, { keyId: acme.keyId, scope: EVERY_CLIENT }, { actor: 'cli:test' })
  expectError(t, await read(app, acme.apiKey, NEIGHBOUR), 401, 'revoked_api_key')
  for (let i = 0; i < 3; i++) expectError(t, await read(app, generateKey(), ATTACKER), 401, 'invalid_api_key')
  // The fourth made-up key is not looked up; it passes AUTH_FAIL_MAX and starts the cooling-off period.
  for (let i = 0; i < 3; i++) expectError(t, await read(app, generateKey(), ATTACKER), 429, 'auth_throttled')
  await Promise.all([app.usage.flush(), app.audit.flush()])

  const report = await usage(app.db, { days: '1' })
  const json = report.json as { clients: Array<{ client_name: string, total: { auth_failures: number, requests: number } }>, unattributed_auth_failures: unknown[] }
  t.match(json.clients, [{ client_name: 'acme', total: { auth_failures: 1, requests: 0 } }], 'the revoked key\'s use is charged to its client')
  t.match(json.unattributed_auth_failures, [{ failures: 6, throttled: 3 }], 'made-up keys and throttled answers are the provider\'s to see')
  t.match(report.text, /1 refused authentications/)
  t.match(report.text, /6 failures \(3 throttled\)/)
  const own = await usage(app.db, { days: '1', clientName: 'acme' })
  t.same((own.json as { unattributed_auth_failures: unknown[] }).unattributed_auth_failures, [], 'a one-client report holds no one else\'s failures')
})

void t.test('the provider lists blocked addresses and lifts a block on every instance', async (t) => {
  const env = { AUTH_FAIL_MAX: '2', AUTH_FAIL_COOLDOWN_SECONDS: '300', USAGE_FLUSH_SECONDS: '300' }
  const a = await buildTestApp(t, env)
  const b = await buildTestApp(t, { ...env, DATABASE_URL: a.databaseUrl })
  for (const app of [a.app, b.app]) {
    for (let i = 0; i < 3; i++) expectError(t, await noKey(app, ATTACKER), 401)
    expectError(t, await noKey(app, ATTACKER), 429, 'auth_throttled')
  }
  for (let i = 0; i < 3; i++) await noKey(a.app, '2001:db8:5:6::1')
  t.equal((await keys(a.databaseUrl, ['throttle', 'list'])).stdout.trim(), 'No address is blocked for failed authentications.',
    'blocks are reported every USAGE_FLUSH_SECONDS, not at once')
  await Promise.all([a.app.authBlocks.flush(), b.app.authBlocks.flush()])
  const listed = await keys(a.databaseUrl, ['throttle', 'list', '--json'])
  const blocked = (JSON.parse(listed.stdout) as { blocked: Array<{ address: string }> }).blocked.map((block) => block.address).sort()
  t.same(blocked, ['2001:db8:5:6::/64', ATTACKER].sort(), 'each blocked group once, an IPv6 address by its /64')
  t.match((await keys(a.databaseUrl, ['throttle', 'list'])).stdout, /2 blocked addresses/)

  const cleared = await keys(a.databaseUrl, ['throttle', 'clear', ATTACKER, '--json'])
  t.equal(cleared.code, 0)
  t.match(JSON.parse(cleared.stdout), { address: ATTACKER, lifted: [{ address: ATTACKER }] })
  for (const [name, app] of [['one', a.app], ['the other', b.app]] as const) {
    let status = 429
    for (let i = 0; i < 100 && status === 429; i++) {
      await setTimeout(10)
      status = (await noKey(app, ATTACKER)).statusCode
    }
    t.equal(status, 401, `${name} instance hears the address again`)
  }
  expectError(t, await noKey(a.app, '2001:db8:5:6::7'), 429, 'auth_throttled')
  t.pass('another address stays blocked')
  const audited = await a.app.db.selectFrom('audit_events').select(['actor', 'details']).where('event', '=', 'throttle.cleared').execute()
  t.match(audited, [{ actor: /^cli:/, details: { address: ATTACKER } }], 'lifting a block is audited')

  t.equal((await keys(a.databaseUrl, ['throttle', 'clear', 'not-an-address'])).code, 2, 'an address that is none is bad usage')
  t.equal((await keys(a.databaseUrl, ['throttle', 'clear'])).code, 2, 'clear needs an address or --all')
  t.equal((await keys(a.databaseUrl, ['throttle', 'clear', '--all'])).code, 0)
  let status = 429
  for (let i = 0; i < 100 && status === 429; i++) {
    await setTimeout(10)
    status = (await noKey(a.app, '2001:db8:5:6::7')).statusCode
  }
  t.equal(status, 401, '--all lifts every block')
})

void t.test('listening beyond loopback without TRUST_PROXY warns that a proxy would hide every client', async (t) => {
  const open = await buildTestApp(t, { HOST: '0.0.0.0' })
  t.ok(open.logLines().some((line) => line.includes('TRUST_PROXY=false') && line.includes('"level":40')), 'warned')
  const proxied = await buildTestApp(t, { HOST: '0.0.0.0', TRUST_PROXY: '1', DATABASE_URL: open.databaseUrl })
  t.notOk(proxied.logLines().some((line) => line.includes('TRUST_PROXY=false')), 'not with TRUST_PROXY set')
  const local = await buildTestApp(t, { DATABASE_URL: open.databaseUrl })
  t.notOk(local.logLines().some((line) => line.includes('TRUST_PROXY=false')), 'nor on loopback')
})

const redis = testRedis(t, 'failed authentications shared through Redis are not tested')

void t.test('with Redis, failures spread over instances add up, and the block reaches every instance', { skip: redis.skip }, async (t) => {
  const address = `203.0.113.${Math.floor(Math.random() * 200) + 1}`
  const prefix = `test-${Math.random().toString(36).slice(2)}:`
  const env = { AUTH_FAIL_MAX: '4', AUTH_FAIL_WINDOW_SECONDS: '60', AUTH_FAIL_COOLDOWN_SECONDS: '60', REDIS_URL: redis.url, REDIS_PREFIX: prefix }
  const a = await buildTestApp(t, env)
  const b = await buildTestApp(t, { ...env, DATABASE_URL: a.databaseUrl })
  // Another deployment on the same Redis, with its own prefix: it shares nothing.
  const other = await buildTestApp(t, { ...env, REDIS_PREFIX: `${prefix}other:` })
  await setTimeout(200) // all subscribed
  // Five failures in all, never more than three on one instance: neither would block on its own.
  for (const app of [a.app, b.app, a.app, b.app, a.app]) expectError(t, await noKey(app, address), 401, 'missing_api_key')
  for (const [name, app] of [['the instance that saw the fifth failure', a.app], ['the other instance', b.app]] as const) {
    let status = 0
    for (let i = 0; i < 100 && status !== 429; i++) {
      await setTimeout(10)
      status = (await noKey(app, address)).statusCode
    }
    t.equal(status, 429, `${name} answers 429`)
  }
  expectError(t, await noKey(b.app, NEIGHBOUR), 401, 'missing_api_key')
  t.pass('another address is not affected')
  expectError(t, await noKey(other.app, address), 401, 'missing_api_key')
  t.pass('a deployment with another REDIS_PREFIX is not affected')
})
