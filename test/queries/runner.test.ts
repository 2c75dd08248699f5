// Tenants share the database fairly: the query routes run on a pool of their
// own, so that one tenant's slow reads never take the connections of another
// tenant's ingest or of the usage writes; a statement past QUERY_TIMEOUT_MS
// is stopped and answered as such; a client runs at most
// QUERY_CONCURRENCY_PER_CLIENT queries at once; and a client that goes away
// has its statement cancelled on the server. Slow reads are made
// deterministic by a lock the test holds from a connection of its own.
import { request as httpRequest, type ClientRequest } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { FastifyInstance } from 'fastify'
import pg from 'pg'
import t, { type Test } from 'tap'
import { buildApp } from '../../src/app.ts'
import type { LogPageBody } from '../../src/logs/schemas.ts'
import { buildTestApp, callApi, entry, expectError, issueKey, loopbackPort, postLogs, type IssuedKey } from '../helper.ts'

const ADMIN_SCOPES = ['keys:manage', 'logs:read', 'logs:write'] as const

/**
 * An ACCESS EXCLUSIVE lock on a table, held by a connection of the test's own
 * until released, or until `boundMs` has passed, so that a test that fails
 * cannot hang the suite.
 */
async function holdLock (t: Test, databaseUrl: string, table: string, boundMs = 10_000): Promise<{ release: () => Promise<void> }> {
  const holder = new pg.Client({ connectionString: databaseUrl })
  await holder.connect()
  await holder.query('begin')
  await holder.query(`lock table ${table} in access exclusive mode`)
  let released: Promise<void> | undefined
  const release = async (): Promise<void> => {
    released ??= (async () => {
      clearTimeout(timer)
      await holder.query('rollback')
      await holder.end()
    })()
    await released
  }
  const timer = setTimeout(() => { void release() }, boundMs)
  t.teardown(release)
  return { release }
}

/** Statements that wait for a lock on the table (the test's), whatever their text. */
async function waitingOn (databaseUrl: string, table: string): Promise<number> {
  const observer = new pg.Client({ connectionString: databaseUrl })
  await observer.connect()
  try {
    const { rows } = await observer.query<{ n: number }>(
      `select count(*)::int as n from pg_locks
       where not granted and relation = $1::regclass and database = (select oid from pg_database where datname = current_database())`, [table])
    return rows[0]?.n ?? 0
  } finally {
    await observer.end()
  }
}

/** Polls until `count` statements wait on the table's lock, for at most `boundMs`; answers the last count seen. */
async function untilStatements (databaseUrl: string, table: string, count: number, boundMs = 5000): Promise<number> {
  const end = Date.now() + boundMs
  let seen = await waitingOn(databaseUrl, table)
  while (seen !== count && Date.now() < end) {
    await new Promise((resolve) => setTimeout(resolve, 20))
    seen = await waitingOn(databaseUrl, table)
  }
  return seen
}

async function listLogs (app: FastifyInstance, key: IssuedKey) {
  return await callApi(app, key.apiKey, 'GET', '/api/v1/logs')
}

async function listAudit (app: FastifyInstance, key: IssuedKey) {
  return await callApi(app, key.apiKey, 'GET', '/api/v1/audit')
}

void t.test('with every read connection held by slow queries, other tenants still write', async (t) => {
  // Two connections for everything else: on a single pool, the two held reads would take both.
  const { app, databaseUrl } = await buildTestApp(t, {
    DB_POOL_MAX: '2',
    DB_READ_POOL_MAX: '2',
    QUERY_CONCURRENCY_PER_CLIENT: '1',
    DB_CONNECT_TIMEOUT_MS: '500',
    USAGE_FLUSH_SECONDS: '300'
  })
  const readerA = await issueKey(app, 'reader-a', { scopes: [...ADMIN_SCOPES] })
  const readerB = await issueKey(app, 'reader-b', { scopes: [...ADMIN_SCOPES] })
  const writer = await issueKey(app, 'writer')
  const lock = await holdLock(t, databaseUrl, 'audit_events')

  const held = [listAudit(app, readerA), listAudit(app, readerB)]
  t.equal(await untilStatements(databaseUrl, 'audit_events', 2), 2, 'two reads wait on the lock, each on a connection')

  const ingest = await postLogs(app, writer.apiKey, entry({ message: 'written while the reads wait' }))
  t.equal(ingest.statusCode, 201, 'another tenant\'s ingest is stored')
  await app.usage.flush()
  const usage = await app.db.selectFrom('usage_daily').select(['requests', 'logs_accepted'])
    .where('client_id', '=', writer.clientId).executeTakeFirst()
  t.same(usage, { requests: 1, logs_accepted: 1 }, 'the usage flush wrote while the reads wait')
  const lastUse = await app.db.selectFrom('api_keys').select('last_used_at').where('id', '=', writer.keyId).executeTakeFirstOrThrow()
  t.not(lastUse.last_used_at, null, 'and the key\'s last use')

  // A third tenant's query finds no read connection: it says so, not that the database is down.
  t.match(app.queries.poolUse(), { total: 2, idle: 0 }, 'the read pool is all taken')
  const reader = await issueKey(app, 'reader-c', { scopes: ['logs:read'] })
  const busy = await listLogs(app, reader)
  expectError(t, busy, 503, 'queries_busy')
  t.ok(Number(busy.headers['retry-after']) > 0, 'with Retry-After')

  await lock.release()
  for (const res of await Promise.all(held)) t.equal(res.statusCode, 200, 'the held reads are answered once the lock goes')
  t.match(app.queries.poolUse(), { idle: 2, waiting: 0 }, 'and their connections are back')
})

// One app for the tests that need no special pool, built once for the file.
const shared = buildTestApp(t, { DB_READ_POOL_MAX: '3', QUERY_CONCURRENCY_PER_CLIENT: '2' })

void t.test('a client past QUERY_CONCURRENCY_PER_CLIENT is answered 429 at once; another client is not', async (t) => {
  const { app, databaseUrl } = await shared
  const greedy = await issueKey(app, 'greedy', { scopes: [...ADMIN_SCOPES] })
  const other = await issueKey(app, 'other')
  const lock = await holdLock(t, databaseUrl, 'audit_events')

  const held = [listAudit(app, greedy), listAudit(app, greedy)]
  t.equal(await untilStatements(databaseUrl, 'audit_events', 2), 2, 'the client\'s two queries run')

  // This one would not wait on the lock: only the cap can refuse it.
  const third = await listLogs(app, greedy)
  const body = expectError(t, third, 429, 'too_many_queries')
  t.equal(third.headers['retry-after'], '1')
  t.same(body.details, { limit: 2, retry_after_seconds: 1 })
  t.equal((await listLogs(app, other)).statusCode, 200, 'another client\'s query goes through meanwhile')
  t.equal(app.queries.running(greedy.clientId), 2)

  await lock.release()
  for (const res of await Promise.all(held)) t.equal(res.statusCode, 200)
  t.equal(app.queries.running(greedy.clientId), 0, 'the slots are given back')
  t.equal((await listLogs(app, greedy)).statusCode, 200, 'and the client may query again')
})

void t.test('a statement past QUERY_TIMEOUT_MS is stopped and answered 503 query_timeout; the pool serves the next query', async (t) => {
  const { app, databaseUrl } = await buildTestApp(t, { DB_READ_POOL_MAX: '2', QUERY_CONCURRENCY_PER_CLIENT: '1', QUERY_TIMEOUT_MS: '300' })
  const key = await issueKey(app, 'acme')
  t.equal((await postLogs(app, key.apiKey, entry())).statusCode, 201)
  const lock = await holdLock(t, databaseUrl, 'logs')

  const res = await listLogs(app, key)
  const body = expectError(t, res, 503, 'query_timeout')
  t.match(body.message, /300 ms/, 'the message names the limit')
  t.match(body.message, /from and to/, 'and says how to narrow the query')
  t.equal(res.headers['retry-after'], '5')
  t.equal(await waitingOn(databaseUrl, 'logs'), 0, 'the statement is gone from the server')
  await lock.release()

  const next = await listLogs(app, key)
  t.equal(next.statusCode, 200, 'the next query is answered')
  t.equal(next.json<LogPageBody>().data.length, 1)
  t.match(app.queries.poolUse(), { waiting: 0 })
  t.equal(app.queries.poolUse().total, app.queries.poolUse().idle, 'no connection is left taken')
})

void t.test('a client that goes away has its statement cancelled on the server and its connection freed', async (t) => {
  const { app, databaseUrl, logLines } = await shared
  const key = await issueKey(app, 'leaving')
  const port = await loopbackPort(app)
  const lock = await holdLock(t, databaseUrl, 'logs')

  const request: ClientRequest = httpRequest({ host: '127.0.0.1', port, path: '/api/v1/logs', headers: { 'x-api-key': key.apiKey } })
  request.on('error', () => {})
  request.end()
  t.equal(await untilStatements(databaseUrl, 'logs', 1), 1, 'the query runs on the server')

  request.destroy()
  t.equal(await untilStatements(databaseUrl, 'logs', 0), 0, 'the statement is gone from the server, the lock still held')
  await lock.release()
  t.equal(app.queries.running(key.clientId), 0, 'the client\'s slot is given back')
  t.match(app.queries.poolUse(), { waiting: 0 })
  t.equal(app.queries.poolUse().total, app.queries.poolUse().idle, 'no connection is left taken')
  t.ok(logLines().some((line) => line.includes('"client_closed_request"')), 'the log says the client went away')
  t.equal((await listLogs(app, key)).statusCode, 200, 'the client\'s next query is answered')
})

void t.test('a request whose (empty) body was read is not taken for one whose client went away', async (t) => {
  // Node.js emits 'close' on a request once its body has been read, which
  // Fastify's request.signal takes for an abort: only the connection closing counts.
  const { app, databaseUrl } = await shared
  const key = await issueKey(app, 'staying')
  const port = app.server.listening ? (app.server.address() as AddressInfo).port : await loopbackPort(app)
  const lock = await holdLock(t, databaseUrl, 'logs')
  // A signature header makes the service read the body to hash it (the client does not sign, so it is then ignored).
  const answer = fetch(`http://127.0.0.1:${port}/api/v1/logs`, { headers: { 'x-api-key': key.apiKey, 'x-api-signature': 'unused' } })
  t.equal(await untilStatements(databaseUrl, 'logs', 1), 1, 'the query waits on the server')
  await lock.release()
  t.equal((await answer).status, 200, 'and is answered once it can run')
})

void t.test('a per-client cap that would let one client take the whole read pool stops the start', async (t) => {
  const { databaseUrl } = await shared
  await t.rejects(buildApp({ env: { DATABASE_URL: databaseUrl, LOG_LEVEL: 'silent', DB_READ_POOL_MAX: '4', QUERY_CONCURRENCY_PER_CLIENT: '4' } }),
    /QUERY_CONCURRENCY_PER_CLIENT \(4\) must be below DB_READ_POOL_MAX \(4\)/)
})
