// Database failures as the service reports them: a start that cannot reach
// its database, errors logged in one line with their cause, and a database
// that refuses writes treated as an outage.
import { createServer, type AddressInfo } from 'node:net'
import pg from 'pg'
import t from 'tap'
import { buildApp } from '../../src/app.ts'
import { shownUrl } from '../../src/db/connect-check.ts'
import { keys } from '../cli/run.ts'
import { testDatabaseUrl, buildTestApp, countLogs, entry, expectError, issueKey, postLogs } from '../helper.ts'
import { errorSummary, serializeError } from '../../src/db/error-summary.ts'
import { setTimeout as sleep } from 'node:timers/promises'
import { isDatabaseUnavailable } from '../../src/db/unavailable.ts'

// A start that cannot reach its database says so in terms of DATABASE_URL:
// which user, host, port and database (never the password) and what to check,
// for the service and the CLI alike; a migration that fails is named.
const SECRET = 'pa55-w0rd'

/** A port nothing listens on: one the operating system just handed out and took back. */
async function closedPort (): Promise<number> {
  const probe = createServer()
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
  const address = probe.address()
  await new Promise((resolve) => probe.close(resolve))
  return typeof address === 'object' && address !== null ? address.port : 1
}

async function startError (url: string, connectTimeoutMs = 2000): Promise<string> {
  try {
    const app = await buildApp({ env: { DATABASE_URL: url, LOG_LEVEL: 'silent', DB_CONNECT_TIMEOUT_MS: String(connectTimeoutMs) } })
    await app.close()
    return 'started'
  } catch (error) {
    return (error as Error).message
  }
}

void t.test('nothing listening: the service and the CLI name DATABASE_URL with host and port, not the password', async (t) => {
  const port = await closedPort()
  const url = `postgres://logger:${SECRET}@127.0.0.1:${port}/logs?sslmode=disable&password=${SECRET}`
  const message = await startError(url)
  t.match(message, `Could not connect to the database at DATABASE_URL postgres://logger@127.0.0.1:${port}/logs: connect ECONNREFUSED 127.0.0.1:${port}.`)
  t.match(message, /check that PostgreSQL is running and listens on that host and port, or correct DATABASE_URL/)
  t.notMatch(message, SECRET, 'no password, from the URL or its parameters')
  t.notMatch(message, /Migration/, 'no migration is blamed')

  const cli = await keys(url, ['list'])
  t.equal(cli.code, 1)
  t.equal(cli.stderr, `${message}\n`, 'the CLI says the same')
})

void t.test('a database that does not exist, a user that does not exist: what to check for each', async (t) => {
  const known = new URL(process.env.TEST_DATABASE_URL!)
  const missing = new URL(known)
  // The login must succeed for the database to be missing: a server that
  // checks passwords (the embedded one does) gets the right one.
  missing.password = known.password === '' ? SECRET : known.password
  missing.pathname = '/central_logger_no_such_database'
  const noDatabase = await startError(missing.toString())
  t.match(noDatabase, `DATABASE_URL postgres://${known.username}@${known.hostname}:${known.port || '5432'}/central_logger_no_such_database: database "central_logger_no_such_database" does not exist (3D000). The database does not exist: create it`)
  t.notMatch(noDatabase, decodeURIComponent(missing.password))

  const stranger = new URL(known)
  stranger.username = 'central_logger_no_such_user'
  stranger.password = SECRET
  const noUser = await startError(stranger.toString())
  t.match(noUser, /central_logger_no_such_user@.*(28000|28P01)\)\. PostgreSQL refused the login: check the user and password in DATABASE_URL/)
  t.notMatch(noUser, SECRET)
})

void t.test('a host name that does not resolve, a server that never answers: what to check for each', async (t) => {
  const unknownHost = await startError(`postgres://logger:${SECRET}@central-logger-no-such-host.invalid:5432/logs`)
  t.match(unknownHost, /DATABASE_URL postgres:\/\/logger@central-logger-no-such-host\.invalid:5432\/logs: .*ENOTFOUND.*The host name does not resolve: check the host in DATABASE_URL\./)

  // Accepts the connection and never says a word, as a dropped route or a wrong port can.
  const silent = createServer(() => {})
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { silent.close() })
  silent.on('connection', (socket) => { t.teardown(() => { socket.destroy() }) })
  const port = (silent.address() as AddressInfo).port
  const mute = await startError(`postgres://logger:${SECRET}@127.0.0.1:${port}/logs`, 200)
  t.match(mute, `DATABASE_URL postgres://logger@127.0.0.1:${port}/logs: `)
  t.match(mute, /No answer from PostgreSQL within DB_CONNECT_TIMEOUT_MS \(200 ms\), or the connection was cut/)
  t.notMatch(mute, SECRET)
})

void t.test('a migration that fails is named', async (t) => {
  const url = await testDatabaseUrl(t, { empty: true })
  const client = new pg.Client(url)
  await client.connect()
  // What the first migration creates, already there and different.
  await client.query('create table clients (id text)')
  await client.end()
  t.match(await startError(url), /^Migration 2026-11-26T00-00-00_initial failed: .*"clients" already exists/)
})

void t.test('the URL as shown: no password, no parameters, the defaults spelled out', async (t) => {
  t.equal(shownUrl('postgres://u:p@db.internal:6543/app?password=x'), 'postgres://u@db.internal:6543/app')
  t.equal(shownUrl('postgresql://db/app'), 'postgresql://db:5432/app')
  t.equal(shownUrl('postgres://%40dmin:p@[::1]/app'), 'postgres://@dmin@[::1]:5432/app')
  t.equal(shownUrl('postgres://a b'), '(a value that does not parse as a URL)')
})

// Database errors reach the log in one line with their cause: type, code and
// message, not pg's parser frames or PostgreSQL's source file, line and
// routine. Any other error keeps its stack.
interface Line { msg: string, err?: Record<string, unknown> }

void t.test('connections cut under the pool and the key change listener: logged as code and message', async (t) => {
  const { app, databaseUrl, logLines } = await buildTestApp(t)
  await app.inject({ method: 'GET', url: '/ready' })
  const admin = new pg.Client(databaseUrl)
  await admin.connect()
  t.teardown(async () => { await admin.end() })
  const { rowCount } = await admin.query(`select pg_terminate_backend(pid) from pg_stat_activity
    where datname = current_database() and application_name like 'central-logger%' and pid <> pg_backend_pid()`)
  t.ok((rowCount ?? 0) >= 2, 'a pool connection and the listener\'s were cut')

  const logged = (): Line[] => logLines().map((line) => JSON.parse(line) as Line).filter((line) => line.err !== undefined)
  const wanted = ['database connection lost', 'key change notifications lost; keys are checked against the database until they resume']
  for (let waited = 0; wanted.some((msg) => !logged().some((line) => line.msg === msg)) && waited < 5000; waited += 20) {
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  for (const msg of wanted) {
    const line = logged().find((candidate) => candidate.msg === msg)
    t.same(line?.err, { type: 'DatabaseError', code: '57P01', message: 'terminating connection due to administrator command', stack: '' }, msg)
  }
})

void t.test('the serializer: database errors summarised, their cause too; other errors as pino shows them', async (t) => {
  const refused = Object.assign(new AggregateError([
    Object.assign(new Error('connect ECONNREFUSED ::1:5432'), { code: 'ECONNREFUSED' }),
    Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })
  ], ''), { code: 'ECONNREFUSED' })
  t.same(errorSummary(refused), { code: 'ECONNREFUSED', message: 'connect ECONNREFUSED ::1:5432; connect ECONNREFUSED 127.0.0.1:5432' },
    'an AggregateError without a message says what its errors say')
  const wrapped = new Error('could not record usage', { cause: new Error('Connection terminated unexpectedly') })
  t.same(serializeError(wrapped), {
    type: 'Error',
    message: 'could not record usage',
    stack: '',
    cause: { type: 'Error', message: 'Connection terminated unexpectedly', stack: '' }
  })
  const bug = serializeError(new TypeError('x is undefined'))
  t.equal(bug.type, 'TypeError')
  t.match(bug.stack, /\n\s+at /, 'a bug keeps its stack')
})

// A database that is up but refuses writes (read-only, out of disk or memory)
// is an outage for ingest: 503 with Retry-After, which clients retry, never a
// 500. Other database errors stay what they are.
function pgError (code: string): Error {
  return Object.assign(new Error(`error ${code}`), { code })
}

void t.test('which SQLSTATEs mean "retry later"', async (t) => {
  for (const code of ['25006', '53000', '53100', '53200', '53300', '53400', '57P01', '57P03', '08006']) {
    t.ok(isDatabaseUnavailable(pgError(code)), `${code}: unavailable`)
  }
  for (const code of ['23505', '42P01', '22P02', '25P02', '57014']) {
    t.notOk(isDatabaseUnavailable(pgError(code)), `${code}: not an outage`)
  }
  t.ok(isDatabaseUnavailable(new Error('wrapped', { cause: pgError('53100') })), 'found as the cause of another error')
})

void t.test('a database turned read-only: ingest answers 503 with Retry-After, reads go on, writes resume', async (t) => {
  const { app, databaseUrl, logLines } = await buildTestApp(t, { RETRY_AFTER_SECONDS: '3' })
  const key = await issueKey(app, 'acme')
  t.equal((await postLogs(app, key.apiKey, entry())).statusCode, 201, 'a write before')
  const admin = new pg.Client(databaseUrl)
  await admin.connect()
  t.teardown(async () => { await admin.end() })
  const name = admin.escapeIdentifier(new URL(databaseUrl).pathname.slice(1))
  /** New sessions get the setting; the app's open ones are ended so that its pool opens new ones. */
  const setReadOnly = async (on: boolean): Promise<void> => {
    await admin.query(on ? `alter database ${name} set default_transaction_read_only = on` : `alter database ${name} reset default_transaction_read_only`)
    await admin.query(`select pg_terminate_backend(pid) from pg_stat_activity
      where datname = current_database() and application_name like 'central-logger%' and pid <> pg_backend_pid()`)
    await sleep(100)
  }

  await setReadOnly(true)
  t.teardown(async () => { await setReadOnly(false) })
  const refused = await postLogs(app, key.apiKey, entry({ event_id: 'while-read-only' }))
  expectError(t, refused, 503, 'database_unavailable')
  t.equal(refused.headers['retry-after'], '3', 'with Retry-After')
  t.ok(logLines().some((line) => line.includes('"code":"25006"')), 'the warning names the cause')
  t.notOk(logLines().some((line) => (JSON.parse(line) as { level: number }).level >= 50), 'nothing at error level')
  t.equal((await app.inject({ method: 'GET', url: '/api/v1/logs', headers: { 'x-api-key': key.apiKey } })).statusCode, 200, 'reads are answered')

  await setReadOnly(false)
  const stored = await postLogs(app, key.apiKey, entry({ event_id: 'while-read-only' }))
  t.equal(stored.statusCode, 201, 'writes resume')
  t.equal(await countLogs(app, key.clientId), 2, 'the refused entry is stored once, by the retry')
})
