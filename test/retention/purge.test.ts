// Retention deletes exactly the logs past each client's retention, in
// batches, takes their bytes off what the client stores, and leaves every
// other log, and every other client's, as it was.
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { sql } from 'kysely'
import t from 'tap'
import { purgeExpired } from '../../src/retention/purge.ts'
import { storedBytesOf } from '../../src/logs/stored-bytes.ts'
import { connect } from '../../src/db/connect.ts'
import { buildTestApp, callApi, entry, issueKey, postLogs } from '../helper.ts'
import { keys } from '../cli/run.ts'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const NOW = new Date('2026-12-02T12:00:00.000Z')
const DAY = 86_400_000

function daysAgo (days: number): string {
  return new Date(NOW.getTime() - days * DAY).toISOString()
}

async function messages (app: Parameters<typeof callApi>[0], apiKey: string): Promise<string[]> {
  const res = await callApi(app, apiKey, 'GET', '/api/v1/logs?order=asc&limit=1000')
  return res.json<{ data: Array<{ message: string }> }>().data.map((log) => log.message)
}

void t.test('a purge deletes what is past each client\'s retention, and nothing else', async (t) => {
  const { app, databaseUrl } = await buildTestApp(t, { PURGE_INTERVAL_MS: '0' })
  const acme = await issueKey(app, 'acme')
  const globex = await issueKey(app, 'globex')
  const ages = [45, 31, 30.001, 29.999, 10, 6.999, 7.001, 1]
  for (const key of [acme, globex]) {
    const res = await postLogs(app, key.apiKey, ages.map((age) => entry({ executed_at: daysAgo(age), message: `${age} days old` })))
    t.equal(res.statusCode, 201)
  }
  await app.usage.flush()
  const storedBefore = await storedBytesOf(app.db, { id: globex.clientId })
  t.ok(storedBefore > 0)

  // globex keeps a week; acme the service's default (30 days here).
  const set = await keys(databaseUrl, ['retention', 'globex', '1w', '--json'])
  t.equal(set.code, 0, set.stderr)
  t.match(JSON.parse(set.stdout), { client_name: 'globex', retention_days: 7, effective_retention_days: 7, changed: true })

  const result = await purgeExpired(app.db, { defaultDays: 30, batchRows: 2, now: NOW })
  t.equal(result?.deleted, 3 + 6)
  t.match(result?.clients, [
    { name: 'acme', deleted: 3, before: new Date(NOW.getTime() - 30 * DAY) },
    { name: 'globex', deleted: 6, before: new Date(NOW.getTime() - 7 * DAY) }
  ])
  t.same(await messages(app, acme.apiKey), ['29.999 days old', '10 days old', '7.001 days old', '6.999 days old', '1 days old'])
  t.same(await messages(app, globex.apiKey), ['6.999 days old', '1 days old'])

  // The bytes of the deleted logs are off what globex stores, to the byte.
  const { rows: [kept] } = await sql<{ bytes: string }>`
    select sum(log_counted_bytes(logs))::bigint as bytes from logs where client_id = ${globex.clientId}`.execute(app.db)
  t.equal(await storedBytesOf(app.db, { id: globex.clientId }), Number(kept!.bytes))
  const usage = (await callApi(app, (await issueKey(app, 'globex', { scopes: ['keys:manage'] })).apiKey, 'GET', '/api/v1/usage')).json<{ storage: { stored_bytes: number } }>()
  t.equal(usage.storage.stored_bytes, Number(kept!.bytes), 'the usage report shows what is stored now')

  t.same(await purgeExpired(app.db, { defaultDays: 30, batchRows: 2, now: NOW }), { clients: [], deleted: 0 }, 'a second purge finds nothing')
})

void t.test('one process purges at a time', async (t) => {
  const { app, databaseUrl } = await buildTestApp(t, { PURGE_INTERVAL_MS: '0' })
  const acme = await issueKey(app, 'acme')
  await postLogs(app, acme.apiKey, entry({ executed_at: daysAgo(100), message: 'old' }))
  const other = connect(databaseUrl, { poolMax: 1 })
  t.teardown(async () => { await other.destroy() })
  await other.connection().execute(async (session) => {
    await sql`select pg_advisory_lock(hashtext('central-logger retention'))`.execute(session)
    t.equal(await purgeExpired(app.db, { defaultDays: 30, batchRows: 100, now: NOW }), undefined, 'skipped while another purges')
    await sql`select pg_advisory_unlock(hashtext('central-logger retention'))`.execute(session)
  })
  t.equal((await purgeExpired(app.db, { defaultDays: 30, batchRows: 100, now: NOW }))?.deleted, 1)
})

void t.test('the service purges on its interval', async (t) => {
  const { app } = await buildTestApp(t, { PURGE_INTERVAL_MS: '100', RETENTION_DAYS: '2' })
  const acme = await issueKey(app, 'acme')
  await postLogs(app, acme.apiKey, [entry({ executed_at: new Date(Date.now() - 3 * DAY).toISOString(), message: 'expired' }),
    entry({ executed_at: new Date().toISOString(), message: 'fresh' })])
  for (let i = 0; i < 50 && (await messages(app, acme.apiKey)).length > 1; i++) await new Promise((resolve) => setTimeout(resolve, 100))
  t.same(await messages(app, acme.apiKey), ['fresh'])
})

void t.test('keys retention shows, sets and resets a client\'s retention, audited', async (t) => {
  const { app, databaseUrl } = await buildTestApp(t, { PURGE_INTERVAL_MS: '0' })
  await issueKey(app, 'acme')
  const shown = await keys(databaseUrl, ['retention', 'acme'], '', { RETENTION_DAYS: '45' })
  t.equal(shown.code, 0)
  t.match(shown.stdout, /keeps its logs 45 days after their executed_at \(the service's RETENTION_DAYS\)/)
  t.match((await keys(databaseUrl, ['retention', 'acme', '90d'])).stdout, /keeps its logs 90 days .*next purge/)
  t.match(JSON.parse((await keys(databaseUrl, ['retention', 'acme', '90d', '--json'])).stdout), { retention_days: 90, changed: false })
  t.match(JSON.parse((await keys(databaseUrl, ['retention', 'acme', 'default', '--json'])).stdout), { retention_days: null, effective_retention_days: 30 })
  const events = await app.db.selectFrom('audit_events').select(['event', 'details']).where('event', '=', 'client.updated').orderBy('id').execute()
  t.match(events.map((event) => event.details), [{ retention_days: { from: null, to: 90 } }, { retention_days: { from: 90, to: null } }])

  for (const bad of ['0d', '90', '36501d', 'forever', '1.5d', '3m']) {
    const run = await keys(databaseUrl, ['retention', 'acme', bad])
    t.equal(run.code, 2, `${bad} is refused`)
    t.match(run.stderr, /is not a number of days or weeks/)
  }
  t.equal((await keys(databaseUrl, ['retention', 'nobody', '9d'])).code, 1)
})

void t.test('npm run purge deletes the expired logs and says what it did', async (t) => {
  const { app, databaseUrl } = await buildTestApp(t, { PURGE_INTERVAL_MS: '0' })
  const acme = await issueKey(app, 'acme')
  await postLogs(app, acme.apiKey, [entry({ executed_at: new Date(Date.now() - 40 * DAY).toISOString(), message: 'expired' }),
    entry({ executed_at: new Date().toISOString(), message: 'fresh' })])
  const run = await new Promise<{ code: number | null, stdout: string }>((resolve) => {
    const child = spawn(process.execPath, [...process.execArgv, 'scripts/purge.ts'], { cwd: ROOT, env: { ...process.env, DATABASE_URL: databaseUrl } })
    let stdout = ''
    child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString() })
    child.on('close', (code) => { resolve({ code, stdout }) })
  })
  t.equal(run.code, 0)
  t.match(run.stdout, /^acme: 1 logs from before .* deleted \(\d+ bytes\)\.\n1 expired logs deleted\.\n$/)
  t.same(await messages(app, acme.apiKey), ['fresh'])
})
