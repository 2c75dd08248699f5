// Back-pressure, saturated for real: a blocked event loop, a heap filled
// past its limit, a write queue that fills behind a database table locked by
// another connection. Each time: requests answered 503 overloaded with
// Retry-After (before their key is looked at), /ready 503 with the reason,
// /health and /metrics still served; then recovery, with nothing lost.
import { setFlagsFromString, getHeapStatistics } from 'node:v8'
import { runInNewContext } from 'node:vm'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import pg from 'pg'
import t, { type Test } from 'tap'
import { buildTestApp, callApi, countLogs, entry, expectError, issueKey, postLogs } from './helper.ts'
import { scrape } from './metrics/scrape.ts'

async function sleep (ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms))
}

/** Waits until the condition holds, or fails the test after `timeoutMs`. */
async function until (t: Test, what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!await condition()) {
    if (Date.now() > deadline) {
      t.fail(`${what}: not within ${timeoutMs} ms`)
      return
    }
    await sleep(20)
  }
}

function expectOverloaded (t: Test, res: LightMyRequestResponse, reason: string): void {
  const body = expectError(t, res, 503, 'overloaded')
  t.match(body.details, { reason, retry_after_seconds: 7 })
  t.equal(res.headers['retry-after'], '7', 'with Retry-After')
}

async function ready (app: FastifyInstance): Promise<LightMyRequestResponse> {
  return await app.inject({ method: 'GET', url: '/ready' })
}

const SAMPLED = { RETRY_AFTER_SECONDS: '7', PRESSURE_SAMPLE_INTERVAL_MS: '300' }

void t.test('a blocked event loop: every request but /health and /metrics refused, /ready 503, until it recovers', async (t) => {
  const { app } = await buildTestApp(t, { ...SAMPLED, PRESSURE_MAX_EVENT_LOOP_DELAY_MS: '30' })
  const { apiKey, clientId } = await issueKey(app, 'acme')
  // Building the app kept the loop busy: a first sample may see that.
  await until(t, 'a calm loop', async () => (await ready(app)).statusCode === 200)
  t.equal((await postLogs(app, apiKey, [entry()])).statusCode, 201, 'served before')
  // Past a sample of a calm loop, then 1.8 s busy in turns of 200 ms, as an
  // overloaded loop is. (One long block can go unseen: when both timers are
  // overdue as it ends, the sample may run before the delay histogram has
  // recorded it, and the sample's reset drops it.)
  await sleep(350)
  const end = Date.now() + 1800
  while (Date.now() < end) {
    const turn = Date.now() + 200
    while (Date.now() < turn) { /* the loop is busy */ }
    await new Promise((resolve) => setImmediate(resolve))
  }
  await until(t, 'a sample while the loop was busy saw it', () => app.pressure.passed().has('event_loop'), 1000)
  expectOverloaded(t, await postLogs(app, apiKey, [entry()]), 'event_loop')
  expectOverloaded(t, await app.inject({ method: 'GET', url: '/api/v1/logs' }), 'event_loop')
  expectOverloaded(t, await ready(app), 'event_loop')
  t.equal((await app.inject({ method: 'GET', url: '/health' })).statusCode, 200, '/health: the process is alive')
  const metrics = await scrape(app)
  t.equal(metrics.find('central_logger_overloaded', { reason: 'event_loop' }), 1)
  t.equal(metrics.find('central_logger_overloaded_requests_total', { reason: 'event_loop' }), 2, 'the two requests refused; /ready is not one')
  t.equal(await countLogs(app, clientId), 1, 'the refused entry was not stored')

  await until(t, 'the next samples see a calm loop', async () => (await ready(app)).statusCode === 200)
  t.equal((await postLogs(app, apiKey, [entry()])).statusCode, 201, 'served again')
  t.equal((await scrape(app)).find('central_logger_overloaded', { reason: 'event_loop' }), 0)
})

void t.test('a heap past PRESSURE_MAX_HEAP_FRACTION: refused, /ready 503, until the memory is freed', async (t) => {
  setFlagsFromString('--expose-gc')
  const gc = runInNewContext('gc') as () => void
  gc()
  const limit = getHeapStatistics().heap_size_limit
  const fraction = (process.memoryUsage().heapUsed + 150 * 1024 * 1024) / limit
  const { app } = await buildTestApp(t, {
    ...SAMPLED,
    PRESSURE_SAMPLE_INTERVAL_MS: '100',
    PRESSURE_MAX_HEAP_FRACTION: fraction.toFixed(6),
    // Filling the heap holds the loop too; only the heap is looked at here.
    PRESSURE_MAX_EVENT_LOOP_DELAY_MS: '0'
  })
  const { apiKey } = await issueKey(app, 'acme')
  t.equal((await postLogs(app, apiKey, [entry()])).statusCode, 201, 'served before')
  // Some 300 MB of doubles in the heap (not in an ArrayBuffer, which lives outside it), in arrays small enough to stay fast.
  let ballast: number[][] | undefined = Array.from({ length: 75 }, () => new Array<number>(500_000).fill(0.5))
  await until(t, 'a sample sees the heap', () => app.pressure.passed().has('heap'))
  expectOverloaded(t, await postLogs(app, apiKey, [entry()]), 'heap')
  expectOverloaded(t, await ready(app), 'heap')
  t.equal((await scrape(app)).find('central_logger_overloaded', { reason: 'heap' }), 1)
  t.equal(ballast.length, 75)

  ballast = undefined
  gc()
  await until(t, 'a sample sees the memory freed', async () => (await ready(app)).statusCode === 200)
  t.equal((await postLogs(app, apiKey, [entry()])).statusCode, 201, 'served again')
})

void t.test('a write queue past PRESSURE_MAX_WRITE_QUEUE_ROWS behind a locked table: ingest refused, reads served, then all stored', async (t) => {
  const { app, databaseUrl } = await buildTestApp(t, { RETRY_AFTER_SECONDS: '7', PRESSURE_MAX_WRITE_QUEUE_ROWS: '5', WRITE_TIMEOUT_MS: '30000' })
  const { apiKey, clientId } = await issueKey(app, 'acme')
  const manager = await issueKey(app, 'acme', { scopes: ['keys:manage'] })
  t.equal((await postLogs(app, apiKey, [entry()])).statusCode, 201, 'served before')

  // Another connection holds the table: writes wait for it, as they would for a stalled database.
  const locker = new pg.Client({ connectionString: databaseUrl })
  await locker.connect()
  t.teardown(async () => { await locker.end() })
  await locker.query('begin')
  await locker.query('lock table logs in access exclusive mode')
  // One group in flight, waiting for the lock; the next three queue behind it: 9 rows, past 5.
  const waiting = [1, 2, 3, 4].map(async (n) => await postLogs(app, apiKey, [entry({ event_id: `w${n}-a` }), entry({ event_id: `w${n}-b` }), entry({ event_id: `w${n}-c` })]))
  await until(t, 'the queue fills', () => app.logWriter.queuedRows > 5)

  expectOverloaded(t, await postLogs(app, apiKey, [entry({ event_id: 'refused' })]), 'write_queue')
  expectOverloaded(t, await postLogs(app, 'not-a-key', [entry()]), 'write_queue')
  expectOverloaded(t, await ready(app), 'write_queue')
  t.equal((await callApi(app, manager.apiKey, 'GET', '/api/v1/keys')).statusCode, 200, 'a route that adds nothing to the queue is served')
  t.equal((await app.inject({ method: 'GET', url: '/health' })).statusCode, 200)
  const metrics = await scrape(app)
  t.equal(metrics.find('central_logger_overloaded', { reason: 'write_queue' }), 1)
  t.equal(metrics.find('central_logger_write_queue_rows'), 9)
  t.equal(metrics.find('central_logger_write_queue_requests'), 3)
  t.equal(metrics.find('central_logger_overloaded_requests_total', { reason: 'write_queue' }), 2)

  await locker.query('rollback')
  for (const answer of await Promise.all(waiting)) t.equal(answer.statusCode, 201, 'the queued requests are stored once the table is free')
  t.equal((await ready(app)).statusCode, 200, 'ready again')
  t.equal((await postLogs(app, apiKey, [entry({ event_id: 'after' })])).statusCode, 201, 'served again')
  t.equal(await countLogs(app, clientId), 1 + 12 + 1, 'every accepted entry stored, the refused one not')
  t.equal((await scrape(app)).find('central_logger_write_queue_rows'), 0)
})

void t.test('defaults: every check on, none passed at rest; 0 turns a check off', async (t) => {
  const { app } = await buildTestApp(t)
  t.same([...app.pressure.passed()], [])
  t.equal(app.config.PRESSURE_MAX_EVENT_LOOP_DELAY_MS, 1000)
  t.equal(app.config.PRESSURE_MAX_HEAP_FRACTION, 0.9)
  t.equal(app.config.PRESSURE_MAX_WRITE_QUEUE_ROWS, 50000)
  const { app: off } = await buildTestApp(t, { PRESSURE_MAX_EVENT_LOOP_DELAY_MS: '0', PRESSURE_MAX_HEAP_FRACTION: '0', PRESSURE_MAX_WRITE_QUEUE_ROWS: '0' })
  t.same([...off.pressure.passed()], [])
  t.equal((await ready(off)).statusCode, 200)
})
