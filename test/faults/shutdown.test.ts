// Every stop is clean. The service, on an embedded PostgreSQL, is stopped the
// way a terminal's Ctrl-C stops it (SIGINT to the whole process group of
// `npm start`: npm, which passes it on, and node) and the way a process
// manager or `docker stop` does (SIGTERM to node): it exits 0, the last use,
// usage and audit events it held are in the database, and no PostgreSQL is
// left running. Started without LANG, as in slim container images, the new
// cluster is UTF-8 and a search folds case beyond ASCII.
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises'
import { connect as tcpConnect } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { sql, type Kysely } from 'kysely'
import t from 'tap'
import type { Test } from 'tap'
import { connect } from '../../src/db/connect.ts'
import { openEmbeddedPostgres } from '../../src/db/embedded.ts'
import type { Database } from '../../src/db/schema.ts'
import { generateKey } from '../../src/keys/format.ts'
import { createKey } from '../../src/keys/store.ts'
import { findOrCreateClient } from '../../src/clients/store.ts'
import { stopCleanly } from '../../src/shutdown.ts'
import { buildTestApp, entry, issueKey, loopbackPort } from '../helper.ts'

// Two service starts, each with its own PostgreSQL start, and one more to read what they left.
t.setTimeout(180_000)

const ROOT = fileURLToPath(new URL('../../', import.meta.url))

/** Command lines of running processes that mention the directory. */
async function processesUsing (dir: string): Promise<string[]> {
  const { stdout } = await promisify(execFile)('ps', ['-eo', 'args'])
  return stdout.split('\n').filter((line) => line.includes(dir))
}

interface Service {
  child: ChildProcess
  base: string
  output: () => string
}

/**
 * The service as a user starts it, in a session of its own (so that its
 * process group can be signalled as a terminal would), on DATA_DIR, without
 * DATABASE_URL and without any locale in its environment.
 */
async function startService (dataDir: string, how: 'npm start' | 'node'): Promise<Service> {
  const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'info', USAGE_FLUSH_SECONDS: '300' }
  for (const name of ['DATABASE_URL', 'REDIS_URL', 'LANG', 'LC_ALL', 'LC_CTYPE', 'LC_COLLATE', 'LC_MESSAGES']) delete env[name]
  // node directly, with this test's loader (so that its coverage counts); npm start as a user types it,
  // through tsx, whose compiled sources are not the ones coverage is mapped for: it must record none,
  // or merged with the rest it garbles the whole report (tap's process tracking follows every child).
  if (how === 'npm start') env._TAPJS_PROCESSINFO_COVERAGE_ = '0'
  const [command, args] = how === 'npm start'
    ? ['npm', ['start']]
    : [process.execPath, [...process.execArgv, 'src/server.ts']]
  const child = spawn(command, args, { cwd: ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => { output += chunk })
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { output += chunk })
  const listening = await new Promise<string>((resolve, reject) => {
    const look = (): void => {
      const found = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(output)
      if (found !== null) resolve(found[1]!)
    }
    child.stdout.on('data', look)
    child.once('exit', (code) => { reject(new Error(`the service exited (${String(code)}) before listening:\n${output}`)) })
  })
  return { child, base: listening, output: () => output }
}

async function exitOf (child: ChildProcess): Promise<{ code: number | null, signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return { code: child.exitCode, signal: child.signalCode }
  const [code, signal] = await once(child, 'exit') as [number | null, NodeJS.Signals | null]
  return { code, signal }
}

/** The running embedded server's database, found as the CLI finds it. */
async function runningDatabase (dataDir: string): Promise<Kysely<Database>> {
  const port = Number((await readFile(path.join(dataDir, 'postgres', 'postmaster.pid'), 'utf8')).split('\n')[3])
  return connect(`postgres://postgres:password@127.0.0.1:${port}/central_logger`, { poolMax: 1 })
}

interface Held { lastUsedAt: Date | null, requests: number, logsAccepted: number, invalidKeyFailures: number }

async function held (db: Kysely<Database>, keyId: string, clientId: string): Promise<Held> {
  const key = await db.selectFrom('api_keys').select('last_used_at').where('id', '=', keyId).executeTakeFirstOrThrow()
  const usage = await db.selectFrom('usage_daily').select(['requests', 'logs_accepted']).where('client_id', '=', clientId).execute()
  const failures = await sql<{ n: number }>`select count(*) as n from audit_events where event = 'auth.failed' and reason = 'invalid_api_key'`.execute(db)
  return {
    lastUsedAt: key.last_used_at === null ? null : new Date(key.last_used_at),
    requests: usage.reduce((sum, row) => sum + Number(row.requests), 0),
    logsAccepted: usage.reduce((sum, row) => sum + Number(row.logs_accepted), 0),
    invalidKeyFailures: failures.rows[0]?.n ?? 0
  }
}

/** Requests whose last use, usage and audit event the service holds in memory until it stops (USAGE_FLUSH_SECONDS=300). */
async function useIt (t: Test, base: string, apiKey: string, message: string): Promise<void> {
  const posted = await fetch(`${base}/api/v1/logs`, {
    method: 'POST',
    headers: { 'x-api-key': apiKey, 'content-type': 'application/json' },
    body: JSON.stringify(entry({ message }))
  })
  t.equal(posted.status, 201, await posted.text())
  const refused = await fetch(`${base}/api/v1/logs`, { headers: { 'x-api-key': generateKey() } })
  t.equal(refused.status, 401, 'a made-up key is refused (an audit event)')
}

void t.test('SIGINT to the process group of npm start, then SIGTERM to node: exit 0, everything written, no PostgreSQL left', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'central-logger-stop-'))
  // As root, PostgreSQL runs as the `postgres` user, which must reach this directory.
  await chmod(dir, 0o755)
  let service: Service | undefined
  t.teardown(async () => {
    // A failed assertion must not leave a service or a server running on a directory about to be deleted.
    if (service !== undefined && service.child.exitCode === null) {
      process.kill(-service.child.pid!, 'SIGKILL')
      const pid = Number((await readFile(path.join(dir, 'postgres', 'postmaster.pid'), 'utf8').catch(() => '')).split('\n')[0])
      if (pid > 0) process.kill(pid, 'SIGKILL')
    }
    await rm(dir, { recursive: true, force: true })
  })

  service = await startService(dir, 'npm start')
  const postgres = await processesUsing(dir)
  t.equal(postgres.length > 0, true, 'a PostgreSQL runs on the data directory')
  let db = await runningDatabase(dir)
  const { client } = await findOrCreateClient(db, 'stopper')
  const { apiKey, info } = await createKey(db, { clientId: client.id, scopes: ['logs:write', 'logs:read'], name: null, expiresAt: null, allowedCidrs: null })
  const encoding = await sql<{ encoding: string }>`select pg_encoding_to_char(encoding) as encoding from pg_database where datname = current_database()`.execute(db)
  t.equal(encoding.rows[0]?.encoding, 'UTF8', 'without LANG, the new cluster is UTF-8')
  await db.destroy()

  await useIt(t, service.base, apiKey, 'Échec de la tâche nocturne')
  const search = await fetch(`${service.base}/api/v1/logs?q=${encodeURIComponent('échec')}`, { headers: { 'x-api-key': apiKey } })
  const found = await search.json() as { data: Array<{ message: string }> }
  t.same(found.data.map((log) => log.message), ['Échec de la tâche nocturne'], '?q=échec finds Échec')

  // What a terminal's Ctrl-C does: every process of the foreground group gets SIGINT (and npm passes it on once more).
  process.kill(-service.child.pid!, 'SIGINT')
  t.same(await exitOf(service.child), { code: 0, signal: null }, `npm start exits 0 on SIGINT:\n${service.output()}`)
  t.match(service.output(), /"signal":"SIGINT","msg":"shutting down"/)
  t.notMatch(service.output(), /could not|"level":50/, 'no write failed, no error')
  t.same(await processesUsing(dir), [], 'no PostgreSQL is left running')

  service = await startService(dir, 'node')
  db = await runningDatabase(dir)
  const first = await held(db, info.id, client.id)
  await db.destroy()
  t.not(first.lastUsedAt, null, 'the key\'s last use, held until the stop, was written')
  t.match(first, { requests: 2, logsAccepted: 1, invalidKeyFailures: 1 }, 'and the usage counts and the audit event')

  await useIt(t, service.base, apiKey, 'second run')
  process.kill(service.child.pid!, 'SIGTERM')
  t.same(await exitOf(service.child), { code: 0, signal: null }, `node exits 0 on SIGTERM:\n${service.output()}`)
  t.notMatch(service.output(), /could not|"level":50/, 'no write failed, no error')
  t.same(await processesUsing(dir), [], 'no PostgreSQL is left running')
  service = undefined

  const server = await openEmbeddedPostgres({ dataDir: dir, port: 0 })
  db = connect(server.url, { poolMax: 1 })
  try {
    const second = await held(db, info.id, client.id)
    t.ok(second.lastUsedAt !== null && first.lastUsedAt !== null && second.lastUsedAt > first.lastUsedAt, 'the second run\'s last use was written')
    t.match(second, { requests: 3, logsAccepted: 2, invalidKeyFailures: 2 }, 'and its usage and audit event')
  } finally {
    await db.destroy()
    await server.stop()
  }
})

void t.test('a request still running after the drain time has its connection closed, and what is pending is still written', async (t) => {
  const { app } = await buildTestApp(t, { USAGE_FLUSH_SECONDS: '300' })
  const key = await issueKey(app, 'held')
  const port = await loopbackPort(app)
  const posted = await fetch(`http://127.0.0.1:${port}/api/v1/logs`, {
    method: 'POST', headers: { 'x-api-key': key.apiKey, 'content-type': 'application/json' }, body: JSON.stringify(entry())
  })
  t.equal(posted.status, 201)

  // An upload that never ends: its headers are in, its body never comes.
  const socket = tcpConnect({ host: '127.0.0.1', port })
  socket.on('error', () => {})
  await once(socket, 'connect')
  const arrived = once(app.server, 'request')
  socket.write(`POST /api/v1/logs HTTP/1.1\r\nHost: x\r\nX-API-Key: ${key.apiKey}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{`)
  await arrived

  const closed = once(socket, 'close')
  await stopCleanly(app, 300)
  await closed
  t.pass('the held connection was closed and the app closed')
  // The app's pool is closed: read with a connection of its own.
  const db = connect(app.databaseUrl, { poolMax: 1 })
  t.teardown(async () => { await db.destroy() })
  const written = await db.selectFrom('api_keys').select('last_used_at').where('id', '=', key.keyId).executeTakeFirstOrThrow()
  t.not(written.last_used_at, null, 'the last use held in memory was written at the stop')
})
