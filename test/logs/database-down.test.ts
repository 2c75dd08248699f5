// A database outage never turns into a 201: ingest answers 503 with
// Retry-After, readiness fails, and both recover when PostgreSQL is back
// (contract section 4). The outage is a TCP proxy in front of the test
// database that is closed and reopened on the same port; it can also swallow
// traffic, so that the database vanishes while a request waits on it.
import { EventEmitter, once } from 'node:events'
import { createConnection, createServer, type AddressInfo, type Server, type Socket } from 'node:net'
import type { FastifyInstance } from 'fastify'
import t from 'tap'
import type { Test } from 'tap'
import type { ErrorBody } from '../../src/errors.ts'
import type { BatchResultBody } from '../../src/logs/schemas.ts'
import { buildTestApp, entry, expectError, issueKey, postLogs, testDatabaseUrl } from '../helper.ts'

class Proxy {
  readonly #target: { host: string, port: number }
  readonly #sockets = new Set<Socket>()
  readonly #held = new EventEmitter()
  #server: Server | undefined
  #stalled = false
  port = 0

  constructor (target: { host: string, port: number }) {
    this.#target = target
  }

  async open (): Promise<void> {
    const server = createServer((client) => {
      const upstream = createConnection(this.#target)
      for (const socket of [client, upstream]) {
        this.#sockets.add(socket)
        socket.on('close', () => this.#sockets.delete(socket))
        // A cut connection is the point of this proxy, not a failure of the test.
        socket.on('error', () => {})
      }
      client.on('data', (chunk: Buffer) => {
        if (this.#stalled) this.#held.emit('data')
        else upstream.write(chunk)
      })
      upstream.pipe(client)
      client.on('close', () => upstream.destroy())
      upstream.on('close', () => client.destroy())
    })
    server.listen(this.port, '127.0.0.1')
    await once(server, 'listening')
    this.port = (server.address() as AddressInfo).port
    this.#stalled = false
    this.#server = server
  }

  /**
   * From now on the service's bytes go nowhere; resolves once a statement
   * has been swallowed, i.e. a request is waiting on a connection it holds.
   */
  stall (): Promise<void> {
    this.#stalled = true
    return once(this.#held, 'data').then(() => {})
  }

  /** Stops accepting and cuts every open connection: the database is gone. */
  async close (): Promise<void> {
    const server = this.#server
    if (server === undefined) return
    this.#server = undefined
    const closed = new Promise<void>((resolve) => server.close(() => resolve()))
    for (const socket of this.#sockets) socket.destroy()
    this.#sockets.clear()
    await closed
  }
}

/** The app on a fresh database reached through a proxy the test can cut. */
async function appBehindProxy (t: Test): Promise<{ app: FastifyInstance, proxy: Proxy, logLines: () => string[] }> {
  const directUrl = await testDatabaseUrl(t)
  const direct = new URL(directUrl)
  const proxy = new Proxy({ host: direct.hostname, port: Number(direct.port === '' ? 5432 : direct.port) })
  await proxy.open()
  t.teardown(async () => { await proxy.close() })
  const viaProxy = new URL(directUrl)
  viaProxy.port = String(proxy.port)
  const { app, logLines } = await buildTestApp(t, {
    DATABASE_URL: viaProxy.toString(),
    DB_CONNECT_TIMEOUT_MS: '1000',
    RETRY_AFTER_SECONDS: '7',
    // The webhook worker asks the database every second: off, so that the connections counted are the requests' alone.
    WEBHOOK_POLL_MS: '0',
    WEBHOOK_SCAN_MS: '0'
  })
  return { app, proxy, logLines }
}

void t.test('a connection cut while a request waits on it answers 503, and the service keeps running', async (t) => {
  const { app, proxy } = await appBehindProxy(t)
  const key = await issueKey(app, 'acme')
  t.equal((await postLogs(app, key.apiKey, entry({ event_id: 'warm-up' }))).statusCode, 201)

  // The insert is sent but never reaches PostgreSQL; then the database vanishes under it.
  const swallowed = proxy.stall()
  const pending = postLogs(app, key.apiKey, entry({ event_id: 'in-flight' }))
  await swallowed
  await proxy.close()
  const res = await pending
  t.equal(res.statusCode, 503, 'the waiting request is answered 503')
  t.equal(res.json<ErrorBody>().code, 'database_unavailable')
  t.equal(res.headers['retry-after'], '7')

  await proxy.open()
  const retried = await postLogs(app, key.apiKey, entry({ event_id: 'in-flight' }))
  t.equal(retried.statusCode, 201, 'the same app serves again once the database is back')
  t.notOk(retried.headers['idempotent-replayed'], 'the cut request had stored nothing')
  const eventIds = (await app.db.selectFrom('logs').select('event_id').execute()).map((row) => row.event_id).sort()
  t.same(eventIds, ['in-flight', 'warm-up'])
})

void t.test('while the database is unreachable ingest answers 503 with Retry-After, and recovers', async (t) => {
  const { app, proxy, logLines } = await appBehindProxy(t)
  const key = await issueKey(app, 'acme')

  const before = await postLogs(app, key.apiKey, entry({ event_id: 'before' }))
  t.equal(before.statusCode, 201, 'works through the proxy')

  await proxy.close()

  const single = await postLogs(app, key.apiKey, entry({ event_id: 'during' }))
  expectError(t, single, 503, 'database_unavailable')
  t.not(single.statusCode, 201, 'a single entry is not stored')
  t.equal(single.headers['retry-after'], '7', 'Retry-After carries the configured value')

  const batch = await postLogs(app, key.apiKey, [entry({ event_id: 'batch-1' }), entry({ event_id: 'batch-2' })])
  t.equal(batch.statusCode, 503, 'a batch is refused with 503')
  t.equal(batch.json<ErrorBody>().code, 'database_unavailable')
  t.ok(batch.headers['retry-after'] !== undefined)

  const ready = await app.inject({ method: 'GET', url: '/ready' })
  t.equal(ready.statusCode, 503, '/ready reports the outage')
  t.equal(ready.json<ErrorBody>().code, 'database_unavailable')
  t.ok(ready.headers['retry-after'] !== undefined)
  const health = await app.inject({ method: 'GET', url: '/health' })
  t.equal(health.statusCode, 200, 'the process itself is still up')
  // An outage is a state the service handles: a warning, not an error an operator is paged for.
  const levels = logLines().map((line) => JSON.parse(line) as { level: number, msg: string })
  t.same(levels.filter((line) => line.level >= 50).map((line) => line.msg), [], 'nothing logged at error level')
  t.ok(levels.some((line) => line.level === 40 && line.msg === 'request refused: unavailable'), 'the refused readiness check is a warning')

  await proxy.open()

  t.equal((await app.inject({ method: 'GET', url: '/ready' })).statusCode, 200, 'ready again')
  const retried = await postLogs(app, key.apiKey, entry({ event_id: 'during' }))
  t.equal(retried.statusCode, 201, 'the client\'s retry is stored')
  t.notOk(retried.headers['idempotent-replayed'], 'the refused attempt had stored nothing')
  const retriedBatch = await postLogs(app, key.apiKey, [entry({ event_id: 'batch-1' }), entry({ event_id: 'batch-2' })])
  t.equal(retriedBatch.statusCode, 201)
  t.same(retriedBatch.json<BatchResultBody>().duplicates, 0, 'the refused batch had stored nothing')

  const eventIds = (await app.db.selectFrom('logs').select('event_id').execute()).map((row) => row.event_id).sort()
  t.same(eventIds, ['batch-1', 'batch-2', 'before', 'during'])
})

void t.test('a database that stops answering: /ready is 503 within DB_CONNECT_TIMEOUT_MS, and probes hold one connection', async (t) => {
  const { app, proxy } = await appBehindProxy(t)
  t.equal((await app.inject({ method: 'GET', url: '/ready' })).statusCode, 200, 'ready through the proxy')

  const swallowed = proxy.stall()
  const started = performance.now()
  const probes = await Promise.all([1, 2, 3].map(async () => await app.inject({ method: 'GET', url: '/ready' })))
  const tookMs = performance.now() - started
  await swallowed
  t.same(probes.map((probe) => probe.statusCode), [503, 503, 503], 'three probes at once, each answered 503')
  t.ok(tookMs < 3000, `in ${tookMs.toFixed(0)} ms (DB_CONNECT_TIMEOUT_MS is 1000)`)
  const later = await app.inject({ method: 'GET', url: '/ready' })
  t.equal(later.statusCode, 503, 'a probe while the check is still unanswered waits on it, and is answered 503')
  t.equal(app.dbPool.totalCount - app.dbPool.idleCount, 1, 'one connection waits on the silent database, whatever the number of probes')

  // Gone for good: the waiting check fails, and a new one succeeds once the database is back.
  await proxy.close()
  await proxy.open()
  const statuses: number[] = []
  for (let i = 0; i < 20 && statuses.at(-1) !== 200; i++) {
    if (i > 0) await new Promise((resolve) => setTimeout(resolve, 100))
    statuses.push((await app.inject({ method: 'GET', url: '/ready' })).statusCode)
  }
  t.equal(statuses.at(-1), 200, `ready again (answers since: ${statuses.join(', ')})`)
})
