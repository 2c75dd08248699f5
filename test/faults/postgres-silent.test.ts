// PostgreSQL silent: every process of the server paused (SIGSTOP), its
// connections open and nothing answered, as in a network partition or a
// stalled host. No request may hang: ingest answers 503 within
// WRITE_TIMEOUT_MS, /ready within a bound, and once the server answers again
// the same service goes on, each retried event stored once.
import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { promisify } from 'node:util'
import t from 'tap'
import { describeLoad, expectExactlyOnce, startLoad } from './load.ts'
import { migratedWithTenant, ownPostgres } from './own-postgres.ts'
import { call, errorLines, startService, until } from './service.ts'

t.setTimeout(180_000)
const execFileAsync = promisify(execFile)

void t.test('PostgreSQL silent under load: 503s within the timeouts, no hang, recovery, each event once', async (t) => {
  const postgres = await ownPostgres(t)
  const tenant = await migratedWithTenant(postgres.url)
  const service = await startService(t, 'service', {
    DATABASE_URL: postgres.url,
    DB_CONNECT_TIMEOUT_MS: '1000',
    WRITE_TIMEOUT_MS: '2000',
    RETRY_AFTER_SECONDS: '2'
  })
  // The postmaster first (it forks no new backend then), then each of its
  // processes: each backend is a session of its own, so no group signal reaches them all.
  const postmaster = Number((await readFile(path.join(postgres.dataDir, 'postgres', 'postmaster.pid'), 'utf8')).split('\n')[0])
  const serverProcesses = async (): Promise<number[]> => {
    const { stdout } = await execFileAsync('pgrep', ['-P', String(postmaster)]).catch(() => ({ stdout: '' }))
    return [postmaster, ...stdout.split('\n').filter((line) => line !== '').map(Number)]
  }
  let paused: number[] = []
  const resume = (): void => {
    for (const pid of paused) try { process.kill(pid, 'SIGCONT') } catch {}
    paused = []
  }
  t.teardown(resume)

  const load = startLoad({ target: () => service.base, apiKey: tenant.apiKey, events: 1000, concurrency: 10, retryDelayMs: 100, attemptTimeoutMs: 30_000 })
  await until('a part of the load stored', () => load.stored() >= 300, 60_000)
  process.kill(postmaster, 'SIGSTOP')
  paused = await serverProcesses()
  for (const pid of paused) process.kill(pid, 'SIGSTOP')

  const probes: Array<{ status: number, ms: number }> = []
  for (let i = 0; i < 15; i++) {
    const started = performance.now()
    const ready = await call(service.base, 'GET', '/ready', tenant.apiKey, undefined, AbortSignal.timeout(10_000)).catch(() => ({ status: 0 }))
    probes.push({ status: ready.status, ms: performance.now() - started })
  }
  t.comment(`/ready while silent: ${probes.map((probe) => `${probe.status} in ${probe.ms.toFixed(0)} ms`).join(', ')}`)
  t.ok(probes.every((probe) => probe.status === 503), '/ready answers 503 every time')
  t.ok(probes.every((probe) => probe.ms < 3000), 'each within 3 s')
  await sleep(1000)
  resume()

  await load.done
  t.comment(describeLoad(load))
  t.same(Object.keys(load.statuses).filter((status) => status !== '201' && status !== '503'), [], 'only 201 and 503 were answered')
  t.ok((load.statuses[503] ?? 0) > 0, `${load.statuses[503] ?? 0} attempts answered 503`)
  t.equal(load.withoutRetryAfter, 0, 'every 503 carried Retry-After')
  t.equal(load.unanswered, 0, 'no attempt went unanswered')
  t.equal((await call(service.base, 'GET', '/ready', tenant.apiKey)).status, 200, '/ready answers 200 again')
  await expectExactlyOnce(t, postgres.url, tenant.clientId, load)
  t.same(errorLines(service), [], 'nothing logged at error level')
})
