// GET /api/v1/usage over real PostgreSQL: requests and log counts per UTC
// day, this instance's unwritten counts merged in, each count written once
// however often it is flushed, several instances adding up, the day range
// checked, and each key's last use recorded.
import type { FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import type { KeyListBody } from '../src/keys/schemas.ts'
import type { Scope } from '../src/keys/scopes.ts'
import { utcDay } from '../src/usage/recorder.ts'
import type { UsageReportBody } from '../src/usage/routes.ts'
import { generateKey } from '../src/keys/format.ts'
import { buildTestApp, callApi, entry, expectError, issueKey, postLogs, type IssuedKey } from './helper.ts'

// Only an explicit flush writes, so that each test knows what is stored and what is pending.
const NO_TIMED_FLUSH = { USAGE_FLUSH_SECONDS: '300' }
const ALL_SCOPES: Scope[] = ['keys:manage', 'logs:write', 'logs:read']
const BAD = entry({ executed_at: 'not a time' })

type Totals = UsageReportBody['total']

function totals (counts: Partial<Totals>): Totals {
  return { requests: 0, rejected_requests: 0, rate_limited: 0, logs_accepted: 0, logs_duplicates: 0, logs_rejected: 0, auth_failures: 0, ...counts }
}

async function usage (t: Test, app: FastifyInstance, key: IssuedKey, query = ''): Promise<UsageReportBody> {
  const res = await callApi(app, key.apiKey, 'GET', `/api/v1/usage${query}`)
  t.equal(res.statusCode, 200, `GET /api/v1/usage${query}`)
  const report = res.json<UsageReportBody>()
  t.same(report.total, sum(report.days), 'the total is the sum of the days')
  return report
}

function sum (days: UsageReportBody['days']): Totals {
  const total = totals({})
  for (const day of days) for (const counter of Object.keys(total) as Array<keyof Totals>) total[counter] += day[counter]
  return total
}

async function storedRows (app: FastifyInstance, clientId: string) {
  return await app.db.selectFrom('usage_daily').selectAll().where('client_id', '=', clientId).execute()
}

/** The writer's requests of every kind: 8 answered (4 of them with an error), 5 entries accepted, 2 duplicates, 5 rejected. */
async function writeEverything (t: Test, app: FastifyInstance, writer: IssuedKey): Promise<Totals> {
  const first = await postLogs(app, writer.apiKey, ['e1', 'e2', 'e3'].map((id) => entry({ event_id: id })))
  t.match(first.json(), { accepted: 3, duplicates: 0 })
  const second = await postLogs(app, writer.apiKey, [entry({ event_id: 'e1' }), entry({ event_id: 'e4' })])
  t.match(second.json(), { accepted: 1, duplicates: 1 })
  expectError(t, await postLogs(app, writer.apiKey, [entry({ event_id: 'e5' }), BAD]), 400, 'invalid_entries')
  const partial = await postLogs(app, writer.apiKey, [entry({ event_id: 'e6' }), BAD, BAD], { query: '?partial=true' })
  t.equal(partial.statusCode, 201)
  t.match(partial.json(), { accepted: 1, duplicates: 0, rejected: [{ index: 1 }, { index: 2 }] })
  const replay = await postLogs(app, writer.apiKey, entry({ event_id: 'e2' }))
  t.equal(replay.headers['idempotent-replayed'], 'true')
  expectError(t, await callApi(app, writer.apiKey, 'GET', '/api/v1/logs'), 403, 'insufficient_scope')
  expectError(t, await postLogs(app, writer.apiKey, BAD), 400, 'invalid_entries')
  // Its key was accepted before the body was read: a body the service refuses is the client's request too.
  expectError(t, await postLogs(app, writer.apiKey, '{"environment": '), 400, 'invalid_json')
  return totals({ requests: 8, rejected_requests: 4, logs_accepted: 5, logs_duplicates: 2, logs_rejected: 5 })
}

void t.test('requests and log counts, before and after a flush, each counted once', async (t) => {
  const { app } = await buildTestApp(t, NO_TIMED_FLUSH)
  // Every scope: a key revokes only keys whose scopes it holds.
  const admin = await issueKey(app, 'acme', { scopes: ALL_SCOPES })
  const writer = await issueKey(app, 'acme', { scopes: ['logs:write'] })
  const revoked = await issueKey(app, 'acme')
  t.equal((await callApi(app, admin.apiKey, 'DELETE', `/api/v1/keys/${revoked.keyId}`)).statusCode, 200)
  let adminCalls = 1

  const written = await writeEverything(t, app, writer)
  // A key of the client refused: an authentication failure of the client, not a request.
  expectError(t, await postLogs(app, revoked.apiKey, entry()), 401, 'revoked_api_key')
  // Refused before a client is known: counted for nobody.
  expectError(t, await postLogs(app, generateKey(), entry()), 401, 'invalid_api_key')
  expectError(t, await postLogs(app, 'clk_nonsense', entry()), 401, 'malformed_api_key')
  const expected = (): Totals => ({ ...written, requests: written.requests + adminCalls, auth_failures: 1 })

  const today = utcDay(new Date())
  const pending = await usage(t, app, admin)
  t.same(pending.total, expected(), 'before any flush: this instance\'s pending counts')
  t.same(pending.days.map((day) => day.day), [today], 'on today\'s UTC date')
  t.same(Object.keys(pending.days[0]!).sort(), ['auth_failures', 'day', 'logs_accepted', 'logs_duplicates', 'logs_rejected', 'rate_limited', 'rejected_requests', 'requests'],
    'no client_id in a day')
  t.same(await storedRows(app, admin.clientId), [], 'nothing written yet')
  adminCalls++

  await app.usage.flush()
  const stored = await storedRows(app, admin.clientId)
  t.equal(stored.length, 1, 'one row for the client and the day')
  t.match(stored[0], { day: today, ...expected() }, 'the row holds every count')
  const flushed = await usage(t, app, admin)
  t.same(flushed.total, expected(), 'after the flush: the same, not twice')
  adminCalls++

  await app.usage.flush()
  await app.usage.flush()
  t.same((await usage(t, app, admin)).total, expected(), 'more flushes add nothing but the calls made meanwhile')
  adminCalls++
  const more = await postLogs(app, writer.apiKey, [entry(), entry()])
  t.equal(more.statusCode, 201)
  const mixed = await usage(t, app, admin)
  t.same(mixed.total, { ...expected(), requests: expected().requests + 1, logs_accepted: expected().logs_accepted + 2 },
    'stored and pending counts add up')
  adminCalls++
  await app.usage.flush()
  t.match((await storedRows(app, admin.clientId))[0], { requests: expected().requests + 1, logs_accepted: expected().logs_accepted + 2 })
})

void t.test('the day range: defaults, limits, and dates that are refused', async (t) => {
  const { app } = await buildTestApp(t, NO_TIMED_FLUSH)
  const admin = await issueKey(app, 'acme', { scopes: ALL_SCOPES })
  t.equal((await postLogs(app, admin.apiKey, entry())).statusCode, 201)

  const now = new Date()
  const today = utcDay(now)
  const report = await usage(t, app, admin)
  t.equal(report.to, today, 'to defaults to today (UTC)')
  t.equal(report.from, utcDay(new Date(Date.parse(`${today}T00:00:00Z`) - 29 * 86_400_000)), 'from to 29 days before: 30 days')
  t.equal(report.total.logs_accepted, 1)
  const fromOnly = await usage(t, app, admin, `?from=${today}`)
  t.same([fromOnly.from, fromOnly.to], [today, today])
  t.equal(fromOnly.total.logs_accepted, 1)

  const past = await usage(t, app, admin, '?from=2020-01-01&to=2020-01-31')
  t.same(past, { from: '2020-01-01', to: '2020-01-31', days: [], total: totals({}), storage: report.storage },
    'a range without today leaves today\'s pending counts out (what is stored is stored now)')
  const toOnly = await usage(t, app, admin, '?to=2020-01-31')
  t.equal(toOnly.from, '2020-01-02', 'from defaults to 29 days before to')
  const tomorrow = utcDay(new Date(now.getTime() + 86_400_000))
  t.same((await usage(t, app, admin, `?from=${tomorrow}&to=${tomorrow}`)).days, [], 'nor a range in the future')
  await app.usage.flush()
  t.same((await usage(t, app, admin, '?from=2020-01-01&to=2020-01-31')).days, [], 'nor once they are stored')
  t.equal((await usage(t, app, admin, `?from=${today}&to=${today}`)).total.logs_accepted, 1)

  t.equal((await callApi(app, admin.apiKey, 'GET', '/api/v1/usage?from=2025-01-01&to=2026-01-01')).statusCode, 200, '366 days is allowed')
  t.equal((await callApi(app, admin.apiKey, 'GET', '/api/v1/usage?from=2024-02-29&to=2024-02-29')).statusCode, 200, 'one day, a leap day')
  const refused: Array<[string, RegExp?]> = [
    ['from=2026-01-10&to=2026-01-01', /on or before/],
    ['from=2024-01-01&to=2025-01-01', /366 days/],
    ['from=2000-01-01', /366 days/],
    [`from=${tomorrow}`, /on or before/],
    ['from=yesterday'],
    ['to=2026-02-30'],
    ['from=2026-1-1'],
    ['from=2026-01-01T00:00:00Z'],
    ['to=20260101'],
    ['from='],
    ['form=2026-01-01'],
    ['client_id=00000000-0000-0000-0000-000000000000']
  ]
  for (const [query, message] of refused) {
    const body = expectError(t, await callApi(app, admin.apiKey, 'GET', `/api/v1/usage?${query}`), 400, 'invalid_request')
    if (message !== undefined) t.match(body.message, message, `${query}: says why`)
  }
})

void t.test('two instances on one database: their counts add up once both have flushed', async (t) => {
  const first = await buildTestApp(t, NO_TIMED_FLUSH)
  const second = await buildTestApp(t, { ...NO_TIMED_FLUSH, DATABASE_URL: first.databaseUrl })
  const admin = await issueKey(first.app, 'acme', { scopes: ['keys:manage'] })
  const writer = await issueKey(first.app, 'acme', { scopes: ['logs:write'] })

  for (let i = 0; i < 2; i++) t.equal((await postLogs(first.app, writer.apiKey, [entry(), entry()])).statusCode, 201)
  for (let i = 0; i < 3; i++) t.equal((await postLogs(second.app, writer.apiKey, entry())).statusCode, 201)
  expectError(t, await postLogs(second.app, writer.apiKey, [entry(), BAD]), 400, 'invalid_entries')

  t.match((await usage(t, first.app, admin)).total, { requests: 2, logs_accepted: 4, logs_rejected: 0 }, 'each instance sees its own pending counts')
  t.match((await usage(t, second.app, admin)).total, { requests: 4, rejected_requests: 1, logs_accepted: 3, logs_rejected: 2 })

  // Both write at once, into the same row.
  await Promise.all([first.app.usage.flush(), second.app.usage.flush()])
  const rows = await storedRows(first.app, admin.clientId)
  t.equal(rows.length, 1)
  t.match(rows[0], { requests: 8, rejected_requests: 1, logs_accepted: 7, logs_rejected: 2 }, 'added, not overwritten (each instance\'s GET included)')
  t.match((await usage(t, first.app, admin)).total, { requests: 8, logs_accepted: 7, logs_rejected: 2 }, 'either instance shows the sum')
  t.match((await usage(t, second.app, admin)).total, { requests: 8, logs_accepted: 7, logs_rejected: 2 }, 'without the other instance\'s unwritten request')

  await Promise.all([first.app.usage.flush(), second.app.usage.flush()])
  t.match((await storedRows(first.app, admin.clientId))[0], { requests: 10, logs_accepted: 7 }, 'flushing again writes only what came since')
})

void t.test('last use: time and address appear in the key list once flushed', async (t) => {
  const { app } = await buildTestApp(t, NO_TIMED_FLUSH)
  const admin = await issueKey(app, 'acme', { scopes: ALL_SCOPES })
  const writer = await issueKey(app, 'acme', { scopes: ['logs:write'] })
  const fenced = await issueKey(app, 'acme', { allowedCidrs: ['10.0.0.0/8'] })
  const idle = await issueKey(app, 'acme')
  const keysOf = async (): Promise<Map<string, KeyListBody['data'][number]>> => {
    const res = await callApi(app, admin.apiKey, 'GET', '/api/v1/keys', undefined, { remoteAddress: '192.0.2.1' })
    return new Map(res.json<KeyListBody>().data.map((key) => [key.id, key]))
  }

  const before = Date.now()
  t.equal((await postLogs(app, writer.apiKey, entry())).statusCode, 201)
  expectError(t, await callApi(app, writer.apiKey, 'GET', '/api/v1/logs', undefined, { remoteAddress: '198.51.100.7' }), 403, 'insufficient_scope')
  expectError(t, await callApi(app, fenced.apiKey, 'GET', '/api/v1/logs', undefined, { remoteAddress: '203.0.113.5' }), 403, 'address_not_allowed')
  t.match((await keysOf()).get(writer.keyId), { last_used_at: null, last_used_address: null }, 'not before a flush')

  await app.usage.flush()
  const keys = await keysOf()
  const used = keys.get(writer.keyId)!
  t.equal(used.last_used_address, '198.51.100.7', 'the address of the last use (a use even when the scope then refuses)')
  const at = Date.parse(used.last_used_at ?? '')
  t.ok(at >= before - 1000 && at <= Date.now() + 1000, 'at the time of the request')
  t.match(keys.get(admin.keyId), { last_used_address: '192.0.2.1' }, 'the caller\'s own key too')
  t.match(keys.get(fenced.keyId), { last_used_at: null, last_used_address: null }, 'a request refused by the allowlist is no use of the key')
  t.match(keys.get(idle.keyId), { last_used_at: null, last_used_address: null }, 'an unused key shows none')

  t.equal((await postLogs(app, writer.apiKey, entry())).statusCode, 201)
  await app.usage.flush()
  const later = (await keysOf()).get(writer.keyId)!
  t.equal(later.last_used_address, '127.0.0.1', 'the newest use replaces the older one')
  t.ok(Date.parse(later.last_used_at!) >= at, 'and only moves forward')
})

void t.test('the year 0 is no day: 400, not a database error', async (t) => {
  const { app } = await buildTestApp(t)
  const admin = await issueKey(app, 'acme', { scopes: ['keys:manage'] })
  for (const query of ['from=0000-01-01&to=0000-01-02', 'to=0001-01-01']) {
    expectError(t, await callApi(app, admin.apiKey, 'GET', `/api/v1/usage?${query}`), 400, 'invalid_request')
  }
})
