// PostgreSQL restarted in the middle of a load of posts with event_ids, on a
// cluster of the test's own: while it is down every answer is 503 with
// Retry-After (never 500, never a hang), /ready says so, the same service
// process serves again once it is back, and every event is stored exactly once.
import t from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { describeLoad, expectExactlyOnce, startLoad } from './load.ts'
import { migratedWithTenant, ownPostgres } from './own-postgres.ts'
import { call, errorLines, startService, until } from './service.ts'
import { openTail, type TailReader } from '../tail/sse-reader.ts'
import { entry } from '../helper.ts'

t.setTimeout(180_000)

void t.test('PostgreSQL restarted under load: 503 with Retry-After while down, recovery without a restart, each event once', async (t) => {
  const postgres = await ownPostgres(t)
  const tenant = await migratedWithTenant(postgres.url)
  const service = await startService(t, 'service', {
    DATABASE_URL: postgres.url,
    DB_CONNECT_TIMEOUT_MS: '1000',
    RETRY_AFTER_SECONDS: '2'
  })

  const load = startLoad({ target: () => service.base, apiKey: tenant.apiKey, events: 3000, concurrency: 20, retryDelayMs: 100 })
  await until('a third of the load stored', () => load.stored() >= 1000, 60_000)
  await postgres.stop()
  const stoppedWith = load.stored()

  // Down for a few seconds, under load all the while.
  await sleep(1000)
  const ready = await call(service.base, 'GET', '/ready', tenant.apiKey)
  t.equal(ready.status, 503, '/ready answers 503 while the database is down')
  t.equal(ready.headers.get('retry-after'), '2', 'with Retry-After')
  const health = await call(service.base, 'GET', '/health', tenant.apiKey)
  t.equal(health.status, 200, '/health: the process itself is up')
  const tailWhileDown = await openTail(service.base, tenant.apiKey)
  tailWhileDown.close()
  t.equal(tailWhileDown.status, 503, 'a new tail is answered 503')
  await sleep(2000)
  const storedWhileDown = load.stored() - stoppedWith
  // Answers that were on their way when the server stopped may still land.
  t.ok(storedWhileDown < 100, `${storedWhileDown} events answered 201 after the stop (in flight at the time)`)

  await postgres.start()
  const backAt = Date.now()
  const firstStored = load.stored()
  await until('a write after the restart', () => load.stored() > firstStored, 30_000)
  t.comment(`the first event was stored ${Date.now() - backAt} ms after PostgreSQL accepted connections again`)
  await load.done
  t.comment(describeLoad(load))
  t.equal(service.child.exitCode, null, 'the same service process is still running')
  t.same(Object.keys(load.statuses).filter((status) => status !== '201' && status !== '503'), [], 'only 201 and 503 were answered')
  t.ok((load.statuses[503] ?? 0) > 0, `${load.statuses[503] ?? 0} attempts were answered 503 while the database was down`)
  t.equal(load.withoutRetryAfter, 0, 'every 503 carried Retry-After')
  t.same(Object.keys(load.codes).filter((code) => code !== 'database_unavailable' && code !== 'write_timeout'), [],
    'the 503s say database_unavailable (or write_timeout)')
  t.equal(load.unanswered, 0, 'no attempt went unanswered')
  t.equal((await call(service.base, 'GET', '/ready', tenant.apiKey)).status, 200, '/ready answers 200 again')
  await expectExactlyOnce(t, postgres.url, tenant.clientId, load)

  // Live tails listen on a connection of their own, which the restart cut too.
  let tail: TailReader | undefined
  await until('a tail opened again', async () => {
    tail?.close()
    tail = await openTail(service.base, tenant.apiKey)
    return tail.status === 200
  }, 10_000)
  t.teardown(() => tail?.close())
  t.equal((await call(service.base, 'POST', '/api/v1/logs', tenant.apiKey, entry({ message: 'after the restart' }))).status, 201, 'a post after the restart')
  const [event] = await tail!.waitForEvents(1, 2000)
  t.match(event?.data, /after the restart/, 'a tail opened after the restart gets new logs')
  t.same(errorLines(service), [], 'the outage logged warnings, no error')
})
