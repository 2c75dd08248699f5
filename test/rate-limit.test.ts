// Per-client rate limits: a client at its limit gets 429 with Retry-After and
// x-ratelimit-* headers while another client is untouched; all of a client's
// keys share one budget; with Redis, several instances share it too.
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import t from 'tap'
import { buildTestApp, callApi, expectError, issueKey } from './helper.ts'

const LIMITED = { RATE_LIMIT_MAX: '3', RATE_LIMIT_WINDOW: '1h' }

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

const redisUrl = process.env.REDIS_URL ?? ''
const noRedis = redisUrl === '' ? 'REDIS_URL is not set: the budget shared through Redis cannot be tested without one' : false

void t.test('with Redis, two instances enforce one budget per client', { skip: noRedis }, async (t) => {
  const one = await buildTestApp(t, { ...LIMITED, REDIS_URL: redisUrl })
  const two = await buildTestApp(t, { ...LIMITED, REDIS_URL: redisUrl, DATABASE_URL: one.databaseUrl })
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
