// 201 means committed, whatever happens to the process next. The service runs
// as a real process on a test database: SIGTERM while writes are in flight
// and queued answers them all and exits 0; SIGKILL in the middle of a load
// loses no entry that was answered 201.
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { sql } from 'kysely'
import pg from 'pg'
import t from 'tap'
import type { Test } from 'tap'
import { connect } from '../../src/db/connect.ts'
import { migrateToLatest } from '../../src/db/migrate.ts'
import { createKey } from '../../src/keys/store.ts'
import { findOrCreateClient } from '../../src/clients/store.ts'
import type { BatchResultBody, StoredLogBody } from '../../src/logs/schemas.ts'
import { entry, testDatabaseUrl } from '../helper.ts'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))

interface Service {
  child: ChildProcess
  base: string
  output: () => string
}

/** The service as its own process (this test's loader, so its coverage counts), on the given database. */
async function startService (t: Test, databaseUrl: string): Promise<Service> {
  const env: NodeJS.ProcessEnv = { ...process.env, DATABASE_URL: databaseUrl, HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', REQUEST_LOG: 'all' }
  delete env.REDIS_URL
  const child = spawn(process.execPath, [...process.execArgv, 'src/server.ts'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
  t.teardown(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL') })
  let output = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => { output += chunk })
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { output += chunk })
  const base = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', () => {
      const found = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(output)
      if (found !== null) resolve(found[1]!)
    })
    child.once('exit', (code) => { reject(new Error(`the service exited (${String(code)}) before listening:\n${output}`)) })
  })
  return { child, base, output: () => output }
}

/** A migrated database with a client and its key, and a handle the test keeps. */
async function prepared (t: Test): Promise<{ url: string, apiKey: string, clientId: string, keyId: string, db: ReturnType<typeof connect> }> {
  const url = await testDatabaseUrl(t)
  const db = connect(url, { poolMax: 2 })
  t.teardown(async () => { await db.destroy() })
  await migrateToLatest(db)
  const { client } = await findOrCreateClient(db, 'acme')
  const { apiKey, info } = await createKey(db, { clientId: client.id, scopes: ['logs:write', 'logs:read'] })
  return { url, apiKey, clientId: client.id, keyId: info.id, db }
}

async function post (base: string, apiKey: string, body: unknown): Promise<Response> {
  return await fetch(`${base}/api/v1/logs`, {
    method: 'POST',
    headers: { 'x-api-key': apiKey, 'content-type': 'application/json' },
    body: JSON.stringify(body)
  })
}

async function until (condition: () => boolean | Promise<boolean>): Promise<void> {
  while (!await condition()) await new Promise((resolve) => setTimeout(resolve, 20))
}

void t.test('SIGTERM while writes are in flight and queued: every request is answered 201, stored, and the process exits 0', async (t) => {
  const { url, apiKey, clientId, keyId, db } = await prepared(t)
  const service = await startService(t, url)

  // An open transaction holds a row with event_id "held": the service's writes of that event_id wait for it.
  const holder = new pg.Client({ connectionString: url })
  await holder.connect()
  t.teardown(async () => { await holder.end() })
  await holder.query('begin')
  await holder.query(`insert into logs (client_id, key_id, id, event_id, environment, executed_at, status, level)
    values ($1, $2, gen_random_uuid(), 'held', 'production', now(), 'SUCCESS', 'info')`, [clientId, keyId])

  const answers = [post(service.base, apiKey, entry({ event_id: 'held' })), post(service.base, apiKey, entry({ event_id: 'held' }))]
  const waiting = async (): Promise<boolean> => {
    const { rows } = await sql<{ n: number }>`select count(*) as n from pg_stat_activity
      where wait_event_type = 'Lock' and application_name = 'central-logger'`.execute(db)
    return Number(rows[0]!.n) === 1
  }
  await until(waiting)
  // The write in flight waits (the second held request is queued behind it): these are queued too.
  for (let i = 0; i < 5; i++) answers.push(post(service.base, apiKey, entry({ message: `queued ${i}` })))
  await until(() => (service.output().match(/"incoming request"/g) ?? []).length >= 7)

  service.child.kill('SIGTERM')
  await until(() => service.output().includes('"shutting down"'))
  await holder.query('commit')

  const statuses = await Promise.all(answers.map(async (answer) => (await answer).status))
  t.same(statuses, [201, 201, 201, 201, 201, 201, 201], 'every request taken before the stop is answered 201')
  const [code] = await once(service.child, 'exit') as [number | null]
  t.equal(code, 0, 'exits 0')
  if (code !== 0) t.comment(service.output())
  t.notMatch(service.output(), /requests still in flight/, 'answered keep-alive connections did not hold the stop until the cut')
  const queued = await db.selectFrom('logs').select('message').where('message', 'like', 'queued %').execute()
  t.equal(queued.length, 5, 'and what was queued is stored')
})

void t.test('SIGKILL under load loses no entry that was answered 201', async (t) => {
  const { url, apiKey, db } = await prepared(t)
  const service = await startService(t, url)

  const answered: string[] = []
  let killed = false
  let n = 0
  // Twenty clients posting single entries and small batches back to back, until the process dies under them.
  const senders = Array.from({ length: 20 }, async (_, sender) => {
    // eslint-disable-next-line no-unmodified-loop-condition -- set when the process is killed, below
    while (!killed) {
      const batch = sender % 4 === 0
      const body = batch ? [entry({ message: `m${n++}` }), entry({ event_id: `e${n++}` })] : entry({ event_id: `e${n++}` })
      try {
        const res = await post(service.base, apiKey, body)
        if (res.status !== 201) continue
        if (batch) answered.push(...(await res.json() as BatchResultBody).ids as string[])
        else answered.push((await res.json() as StoredLogBody).id)
      } catch {
        // The connection died with the process: that request was not answered.
      }
    }
  })
  await until(() => answered.length >= 300)
  service.child.kill('SIGKILL')
  killed = true
  await once(service.child, 'exit')
  await Promise.all(senders)

  const stored = new Set((await db.selectFrom('logs').select('id').execute()).map((row) => row.id))
  const missing = answered.filter((id) => !stored.has(id))
  t.ok(answered.length >= 300, `${answered.length} entries were answered 201 before the kill`)
  t.same(missing, [], 'every one of them is in the database')
})
