// A start that cannot reach its database says so in terms of DATABASE_URL:
// which user, host, port and database (never the password) and what to check,
// for the service and the CLI alike; a migration that fails is named.
import { createServer, type AddressInfo } from 'node:net'
import pg from 'pg'
import t from 'tap'
import { buildApp } from '../../src/app.ts'
import { shownUrl } from '../../src/db/connect-check.ts'
import { keys } from '../cli/run.ts'
import { testDatabaseUrl } from '../helper.ts'

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
