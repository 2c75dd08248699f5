// A database that stops taking writes while it still answers: turned
// read-only for every session (as an operator does to stop writes, or as a
// standby answers after a failover went wrong), or out of disk space for the
// logs table (a tablespace on a tiny tmpfs). Ingest answers 503 with
// Retry-After, never 500; reads go on; once writes are possible again the same
// service stores what the clients retry, each event once.
import { execFile } from 'node:child_process'
import { chmod, chown, mkdir, mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { promisify } from 'node:util'
import { sql } from 'kysely'
import t, { type Test } from 'tap'
import { connect } from '../../src/db/connect.ts'
import { entry } from '../helper.ts'
import { describeLoad, expectExactlyOnce, startLoad, type LoadReport } from './load.ts'
import { migratedWithTenant, ownPostgres } from './own-postgres.ts'
import { call, errorLines, startService, until, type Service } from './service.ts'

t.setTimeout(180_000)
const execFileAsync = promisify(execFile)

const SERVICE_ENV = {
  DB_CONNECT_TIMEOUT_MS: '1000',
  RETRY_AFTER_SECONDS: '2',
  // The usage and last-use writes meet the fault too, several times.
  USAGE_FLUSH_SECONDS: '1'
}

/** While writes fail: what the service answered, checked; nothing else may be stored meanwhile. */
function expectRefusedProperly (t: Test, load: LoadReport, service: Service): void {
  t.comment(describeLoad(load))
  t.same(Object.keys(load.statuses).filter((status) => status !== '201' && status !== '503'), [], 'only 201 and 503 were answered, never 500')
  t.ok((load.statuses[503] ?? 0) > 0, `${load.statuses[503] ?? 0} attempts were answered 503`)
  t.equal(load.withoutRetryAfter, 0, 'every 503 carried Retry-After')
  t.equal(load.unanswered, 0, 'every attempt was answered')
  t.equal(service.child.exitCode, null, 'the same service process is still running')
  t.same(errorLines(service), [], 'nothing logged at error level')
}

void t.test('a database turned read-only: 503 with Retry-After, reads go on, writes resume', async (t) => {
  const postgres = await ownPostgres(t)
  const tenant = await migratedWithTenant(postgres.url)
  const service = await startService(t, 'service', { DATABASE_URL: postgres.url, ...SERVICE_ENV })
  const admin = connect(postgres.url, { poolMax: 1, onPoolError: () => {} })
  t.teardown(async () => { await admin.destroy() })
  t.equal((await call(service.base, 'POST', '/api/v1/logs', tenant.apiKey, entry({ event_id: 'before' }))).status, 201, 'a write before')

  // For every session, the service's open connections included (a reload reaches them before their next statement).
  await sql`alter system set default_transaction_read_only = on`.execute(admin)
  await sql`select pg_reload_conf()`.execute(admin)
  await sleep(200)

  const load = startLoad({ target: () => service.base, apiKey: tenant.apiKey, events: 300, concurrency: 10, retryDelayMs: 100 })
  await until('refusals', () => (load.statuses[503] ?? 0) >= 50, 30_000).catch((error: unknown) => { t.comment(describeLoad(load)); throw error })
  t.equal(load.stored(), 0, 'nothing is answered 201 while the database is read-only')
  const read = await call(service.base, 'GET', '/api/v1/logs?limit=5', tenant.apiKey)
  t.equal(read.status, 200, 'reads are answered meanwhile')
  t.equal((read.body.data as unknown[]).length, 1, 'with what was stored before')

  await sql`alter system reset default_transaction_read_only`.execute(admin)
  await sql`select pg_reload_conf()`.execute(admin)
  await load.done
  expectRefusedProperly(t, load, service)
  t.same(Object.keys(load.codes), ['database_unavailable'], 'the 503s say database_unavailable')
  t.ok(service.lines.some((line) => line.includes('"code":"25006"')), 'the service\'s warnings name the cause (25006, read-only transaction)')
  await expectExactlyOnce(t, postgres.url, tenant.clientId, load)
  // The usage counters could not be written while it lasted: kept, and written since.
  const accepted = async (): Promise<number> => {
    const row = await admin.selectFrom('usage_daily').select((eb) => eb.fn.sum<number>('logs_accepted').as('n'))
      .where('client_id', '=', tenant.clientId).executeTakeFirst()
    return Number(row?.n ?? 0)
  }
  await until('the usage written', async () => await accepted() >= 301, 10_000).catch(() => {})
  t.equal(await accepted(), 301, 'usage counts every accepted log once, the one before included')
})

/** A tmpfs of `size` of the test's own, or why there is none (not root, no mount rights in this container). */
async function smallDisk (t: Test, size: string): Promise<{ dir: string } | { why: string }> {
  const parent = await mkdtemp(path.join(tmpdir(), 'central-logger-small-disk-'))
  // As root, PostgreSQL runs as the `postgres` user, which must reach the mount.
  await chmod(parent, 0o755)
  const dir = path.join(parent, 'disk')
  await mkdir(dir)
  try {
    await execFileAsync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', dir])
  } catch (error) {
    await rm(parent, { recursive: true, force: true })
    return { why: `a tmpfs cannot be mounted here (${(error as Error).message.split('\n')[0]}): it takes root and mount rights` }
  }
  t.teardown(async () => {
    await execFileAsync('umount', ['-l', dir])
    await rm(parent, { recursive: true, force: true })
  })
  return { dir }
}

void t.test('the logs table out of disk space: 503 with Retry-After, writes resume once there is room', async (t) => {
  const small = await smallDisk(t, '1m')
  if ('why' in small) {
    t.comment(small.why)
    t.pass('a disk that fills up', { skip: small.why })
    return
  }
  const disk = small.dir
  const postgres = await ownPostgres(t)
  // The tablespace's directory belongs to whoever runs the server (`postgres` as root).
  const owner = await stat(path.join(postgres.dataDir, 'postgres'))
  await chown(disk, owner.uid, owner.gid)

  const tenant = await migratedWithTenant(postgres.url)
  const admin = connect(postgres.url, { poolMax: 1, onPoolError: () => {} })
  t.teardown(async () => { await admin.destroy() })
  await sql.raw(`create tablespace small_disk location '${disk}'`).execute(admin)
  await sql`alter table logs set tablespace small_disk`.execute(admin)
  const service = await startService(t, 'service', { DATABASE_URL: postgres.url, ...SERVICE_ENV })

  // About 2 KB each: the 1 MiB disk is full after a few hundred.
  const load = startLoad({ target: () => service.base, apiKey: tenant.apiKey, events: 1500, concurrency: 10, retryDelayMs: 100, messageBytes: 2000 })
  await until('the disk full', () => (load.statuses[503] ?? 0) >= 50, 60_000).catch((error: unknown) => { t.comment(describeLoad(load)); throw error })
  const storedWhenFull = load.stored()
  t.ok(storedWhenFull > 0 && storedWhenFull < 1500, `${storedWhenFull} events fitted on the disk`)
  await sleep(1000)
  const read = await call(service.base, 'GET', '/api/v1/logs?limit=5', tenant.apiKey)
  t.equal(read.status, 200, 'reads are answered meanwhile')

  // More room, as an operator gives a volume that filled up.
  await execFileAsync('mount', ['-o', 'remount,size=64m', disk])
  await load.done
  expectRefusedProperly(t, load, service)
  t.same(Object.keys(load.codes), ['database_unavailable'], 'the 503s say database_unavailable')
  t.ok(service.lines.some((line) => line.includes('"code":"53100"')), 'the service\'s warnings name the cause (53100, disk full)')
  await expectExactlyOnce(t, postgres.url, tenant.clientId, load)
})
