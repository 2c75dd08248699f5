// DATABASE_READ_URL against a second database that stands for a replica
// (replica-fixture.ts): the log queries read it, writes and keys never touch
// it, and a read that continues another (a page after a cursor, a tail's
// resume) never skips what the replica lacks. A real streaming replica, its
// replay paused, is in test/slow/streaming-replica.test.ts.
import { randomUUID } from 'node:crypto'
import { request as httpRequest } from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import pg from 'pg'
import t from 'tap'
import type { BatchResultBody, LogPageBody } from '../../src/logs/schemas.ts'
import { buildTestApp, callApi, entry, expectError, issueKey, loopbackPort, postLogs, testDatabaseUrl } from '../helper.ts'
import { openTail } from '../tail/sse-reader.ts'
import { feedReplica, onReplica, replicaCounts } from './replica-fixture.ts'

async function post (app: FastifyInstance, apiKey: string, entries: Array<Record<string, unknown>>): Promise<string[]> {
  const res = await postLogs(app, apiKey, entries)
  if (res.statusCode !== 201) throw new Error(`ingest answered ${res.statusCode}: ${res.body}`)
  return res.json<BatchResultBody>().ids as string[]
}

/** Every page of a listing, the first asked of `first`, the others of `rest`. */
async function walk (first: FastifyInstance, rest: FastifyInstance, apiKey: string, query: string): Promise<string[][]> {
  const pages: string[][] = []
  let cursor: string | null = null
  for (let page = 0; page < 100; page++) {
    const app = page === 0 ? first : rest
    const url: string = `/api/v1/logs?${query}${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`
    const res: LightMyRequestResponse = await app.inject({ method: 'GET', url, headers: { 'x-api-key': apiKey } })
    if (res.statusCode !== 200) throw new Error(`page ${page} answered ${res.statusCode}: ${res.body}`)
    const body: LogPageBody = res.json<LogPageBody>()
    pages.push(body.data.map((log) => log.id))
    if (body.next_cursor === null) return pages
    cursor = body.next_cursor
  }
  throw new Error('the listing did not end after 100 pages')
}

/** Minutes after a fixed start, as an RFC 3339 time. */
function at (minutes: number): string {
  return new Date(Date.UTC(2026, 10, 20, 10, 0) + minutes * 60_000).toISOString()
}

void t.test('the log queries read the replica; writes, keys and the key checks stay on the primary', async (t) => {
  const replicaUrl = await testDatabaseUrl(t)
  const { app, databaseUrl: primaryUrl, logLines } = await buildTestApp(t, { DATABASE_READ_URL: replicaUrl })
  const acme = await issueKey(app, 'acme', { scopes: ['logs:write', 'logs:read', 'keys:manage'] })
  const spare = await issueKey(app, 'acme', { name: 'spare' })
  const globex = await issueKey(app, 'globex')
  const replicated = await post(app, acme.apiKey, [0, 1, 2].map((minute) => entry({ executed_at: at(minute), message: `replicated ${minute}` })))
  const [theirs] = await post(app, globex.apiKey, [entry({ executed_at: at(1) })])
  await feedReplica(primaryUrl, replicaUrl)
  // Stored since: the replica lags behind them.
  const lagging = await post(app, acme.apiKey, [3, 4].map((minute) => entry({ executed_at: at(minute), message: `lagging ${minute}` })))
  // A row the primary lacks: whatever shows it was read on the replica.
  const onlyThere = randomUUID()
  await onReplica(replicaUrl, `insert into logs (client_id, id, environment, executed_at, status, level, message, key_id)
    values ($1, $2, 'production', $3, 'SUCCESS', 'info', 'only on the replica', $4)`, [acme.clientId, onlyThere, at(-60 * 24), acme.keyId])
  await onReplica(replicaUrl, 'insert into usage_daily (client_id, day, requests) values ($1, $2, 777)', [acme.clientId, '2026-11-19'])
  const before = await replicaCounts(replicaUrl)

  const listed = await callApi(app, acme.apiKey, 'GET', '/api/v1/logs?order=asc')
  t.equal(listed.statusCode, 200)
  t.same(listed.json<LogPageBody>().data.map((log) => log.id), [onlyThere, ...replicated], 'the listing: the replica\'s rows')

  const exported = await callApi(app, acme.apiKey, 'GET', '/api/v1/logs/export?order=asc')
  t.same(exported.body.trim().split('\n').map((line) => (JSON.parse(line) as { id: string }).id), [onlyThere, ...replicated], 'the export too')

  const stats = await callApi(app, acme.apiKey, 'GET', `/api/v1/logs/stats?from=${at(0)}&to=${at(60)}&interval=hour`)
  t.equal(stats.json<{ buckets: Array<{ total: number }> }>().buckets[0]?.total, 3, 'the stats count the replica\'s logs')

  const usage = await callApi(app, acme.apiKey, 'GET', '/api/v1/usage?from=2026-11-19&to=2026-11-19')
  t.equal(usage.json<{ days: Array<{ requests: number }> }>().days[0]?.requests, 777, 'the usage is the replica\'s')

  // One by id: the replica first, and the primary for a log it does not hold yet; another client's log is never found.
  t.equal((await callApi(app, acme.apiKey, 'GET', `/api/v1/logs/${onlyThere}`)).statusCode, 200)
  const fresh = await callApi(app, acme.apiKey, 'GET', `/api/v1/logs/${lagging[0]!}`)
  t.equal(fresh.statusCode, 200, 'a log just stored is found, though the replica lacks it')
  t.equal(fresh.json<{ message: string }>().message, 'lagging 3')
  expectError(t, await callApi(app, acme.apiKey, 'GET', `/api/v1/logs/${theirs!}`), 404, 'not_found')

  // Keys: created, listed and revoked on the primary; the replica still holds the revoked key as valid.
  const created = await callApi(app, acme.apiKey, 'POST', '/api/v1/keys', { name: 'made now' })
  t.equal(created.statusCode, 201)
  const made = created.json<{ key: { id: string }, api_key: string }>()
  t.equal((await postLogs(app, made.api_key, entry())).statusCode, 201, 'a key made a moment ago works at once')
  const keys = await callApi(app, acme.apiKey, 'GET', '/api/v1/keys')
  t.ok(keys.json<{ data: Array<{ id: string }> }>().data.some((key) => key.id === made.key.id), 'and is listed, though the replica lacks it')
  t.equal((await callApi(app, acme.apiKey, 'DELETE', `/api/v1/keys/${spare.keyId}`)).statusCode, 200)
  expectError(t, await callApi(app, spare.apiKey, 'GET', '/api/v1/logs'), 401)

  const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body
  t.match(metrics, /^central_logger_db_pool_max\{pool="replica"\} \d+$/m, 'the replica\'s pool is a series of its own in /metrics')
  t.match(metrics, /^central_logger_db_pool_connections\{pool="replica",state="in_use"\} 0$/m, 'with none left in use')

  await app.close()
  t.same(await replicaCounts(replicaUrl), before, 'nothing was written to the replica')
  t.notOk(logLines().some((line) => /read-only transaction/.test(line)), 'no write was tried there (the usage and audit flushes included)')
  t.match(logLines().find((line) => line.includes('DATABASE_READ_URL')) ?? '', /"replica":"postgres:\/\/postgres@127\.0\.0\.1:\d+\/cl_test_\w+"/,
    'the start says which replica is read, without a password')
})

void t.test('a page after a cursor is read where every row after it is: none skipped, none twice', async (t) => {
  const replicaUrl = await testDatabaseUrl(t)
  // Two instances on one primary: one reads it alone, the other reads the replica.
  const onPrimary = await buildTestApp(t)
  const { app } = await buildTestApp(t, { DATABASE_URL: onPrimary.databaseUrl, DATABASE_READ_URL: replicaUrl })
  const { apiKey } = await issueKey(app, 'acme')
  await post(app, apiKey, Array.from({ length: 20 }, (_, i) => entry({ executed_at: at(2 * i), message: `on time ${i}` })))
  await feedReplica(onPrimary.databaseUrl, replicaUrl)
  // Late arrivals, between the others in time, stored since: only the primary has them.
  await post(app, apiKey, Array.from({ length: 20 }, (_, i) => entry({ executed_at: at(2 * i + 1), message: `late ${i}` })))
  const everything = (await walk(onPrimary.app, onPrimary.app, apiKey, 'limit=1000'))[0]!
  t.equal(everything.length, 40)

  // The first page from the primary, the rest from the instance whose replica lags: the primary's listing, whole.
  const across = await walk(onPrimary.app, app, apiKey, 'limit=5')
  t.same(across.flat(), everything, 'no row skipped, none twice')

  // Wholly on that instance: the first page is the replica's, and the rest continue after it from where every row is.
  const pages = await walk(app, app, apiKey, 'limit=5')
  const firstPage = pages[0]!
  t.same(firstPage, everything.filter((id, index) => index % 2 === 1).slice(0, 5), 'the first page: the replica\'s (no late log)')
  const after = everything.slice(everything.indexOf(firstPage.at(-1)!) + 1)
  t.same(pages.slice(1).flat(), after, 'then every row after its last, the late ones included')
})

void t.test('a tail resumed with Last-Event-ID sends what the replica lacks', async (t) => {
  const replicaUrl = await testDatabaseUrl(t)
  const { app, databaseUrl: primaryUrl } = await buildTestApp(t, { DATABASE_READ_URL: replicaUrl })
  const base = `http://127.0.0.1:${await loopbackPort(app)}`
  const { apiKey } = await issueKey(app, 'acme')
  const [first, second] = await post(app, apiKey, [entry({ message: 'one' }), entry({ message: 'two' })])
  await feedReplica(primaryUrl, replicaUrl)
  const lagging = await post(app, apiKey, [entry({ message: 'three' }), entry({ message: 'four' })])

  const reader = await openTail(base, apiKey, '', { 'last-event-id': first! })
  t.teardown(() => { reader.close() })
  t.equal(reader.status, 200)
  t.same((await reader.waitForEvents(3)).map((event) => event.id), [second, ...lagging], 'every log after the last one received')
})

/** Statements waiting for a lock on logs in that database. */
async function waitingOnLogs (url: string): Promise<number> {
  const observer = new pg.Client({ connectionString: url })
  await observer.connect()
  try {
    const { rows } = await observer.query<{ n: number }>(`select count(*)::int as n from pg_locks
      where not granted and relation = 'logs'::regclass and database = (select oid from pg_database where datname = current_database())`)
    return rows[0]?.n ?? 0
  } finally {
    await observer.end()
  }
}

async function until (what: string, check: () => Promise<boolean>): Promise<void> {
  for (const end = Date.now() + 5000; Date.now() < end; await sleep(20)) if (await check()) return
  throw new Error(`${what}: not within 5 s`)
}

void t.test('a client that goes away has its statement on the replica cancelled there', async (t) => {
  const replicaUrl = await testDatabaseUrl(t)
  const { app, databaseUrl: primaryUrl } = await buildTestApp(t, { DATABASE_READ_URL: replicaUrl })
  const { apiKey, clientId } = await issueKey(app, 'leaving')
  await feedReplica(primaryUrl, replicaUrl)
  const port = await loopbackPort(app)
  // A lock on the replica's logs, held by the test, keeps the listing waiting there.
  const holder = new pg.Client({ connectionString: replicaUrl })
  await holder.connect()
  t.teardown(async () => { await holder.end() })
  await holder.query('begin')
  await holder.query('lock table logs in access exclusive mode')

  const request = httpRequest({ host: '127.0.0.1', port, path: '/api/v1/logs', headers: { 'x-api-key': apiKey } })
  request.on('error', () => {})
  request.end()
  await until('the listing waits on the replica', async () => await waitingOnLogs(replicaUrl) === 1)
  request.destroy()
  await until('its statement is gone from the replica', async () => await waitingOnLogs(replicaUrl) === 0)
  await holder.query('rollback')
  t.equal(app.queries.running(clientId), 0, 'the client\'s slot is given back')
  t.equal((await callApi(app, apiKey, 'GET', '/api/v1/logs')).statusCode, 200, 'its next query is answered')
})
