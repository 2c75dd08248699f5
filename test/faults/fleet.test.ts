// Three service processes on one PostgreSQL and one Redis, behind a
// round-robin (each request goes to the next instance, as a load balancer
// sends them): one request rate limit and one ingest budget per client across
// the fleet, a revocation through any instance refused by every instance
// within a second, each event stored once when its retries land on other
// instances (or race on all three, or an instance dies under them), and live
// tails on every instance fed by writes through any.
import { randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { setClientLimits } from '../../src/clients/settings.ts'
import { connect } from '../../src/db/connect.ts'
import { entry, testDatabaseUrl, testRedis } from '../helper.ts'
import { openTail } from '../tail/sse-reader.ts'
import { describeLoad, expectExactlyOnce, startLoad } from './load.ts'
import { addTenant, migratedWithTenant } from './own-postgres.ts'
import { call, errorLines, killService, startService, until, type Service } from './service.ts'

t.setTimeout(240_000)

/** The contract's bound for a revocation to be seen everywhere. */
const REVOCATION_BOUND_MS = 1000

class RoundRobin {
  readonly instances: Service[]
  #next = 0

  constructor (instances: Service[]) {
    this.instances = instances
  }

  /** The instance the next request goes to. */
  next (): Service {
    const instance = this.instances[this.#next % this.instances.length]!
    this.#next++
    return instance
  }
}

const redis = testRedis(t, 'the fleet shares its limits through Redis')

void t.test('three instances behind a round-robin act as one service', { skip: redis.skip }, async (t) => {
  // The fleet's own test, which outlives each subtest: an instance started in one stays up to the end.
  const fleetTest = t
  const url = await testDatabaseUrl(t)
  const owner = await migratedWithTenant(url, ['logs:write', 'logs:read', 'keys:manage'])
  const db = connect(url, { poolMax: 2, onPoolError: () => {} })
  t.teardown(async () => { await db.destroy() })
  const env = {
    DATABASE_URL: url,
    REDIS_URL: redis.url,
    // This run's own keys in a Redis others may share.
    REDIS_PREFIX: `fleet-${randomBytes(4).toString('hex')}:`,
    // Only the change notifications can explain a revocation seen within a second.
    KEY_CACHE_TTL_SECONDS: '300'
  }
  const names = ['A', 'B', 'C']
  const fleet = new RoundRobin(await Promise.all(names.map(async (name) => await startService(t, name, env))))
  const everyInstance = (refusedBy: Set<string>): boolean => names.every((name) => refusedBy.has(name))

  await t.test('one request rate limit per client across the fleet', async (t) => {
    const tenant = await addTenant(url, 'rate-limited')
    await setClientLimits(db, tenant.clientId, { rateLimit: 30 }, { actor: 'cli:test' })
    const statuses: number[] = []
    const refusedBy = new Set<string>()
    for (let i = 0; i < 45; i++) {
      const instance = fleet.next()
      const res = await call(instance.base, 'GET', '/api/v1/logs?limit=1', tenant.apiKey)
      statuses.push(res.status)
      if (res.status === 429) {
        refusedBy.add(instance.name)
        if (res.body.code !== 'rate_limited' || res.headers.get('retry-after') === null) t.fail(`a 429 without its code or Retry-After: ${JSON.stringify(res.body)}`)
      }
    }
    t.same(statuses, [...Array(30).fill(200), ...Array(15).fill(429)], 'the first 30 requests, spread over three instances, are answered; the next 15 are 429')
    t.ok(everyInstance(refusedBy), `every instance refused the client once its budget was spent (${[...refusedBy].join(', ')})`)
  })

  await t.test('one ingest budget per client across the fleet', async (t) => {
    const tenant = await addTenant(url, 'ingest-limited')
    await setClientLimits(db, tenant.clientId, { ingestRateLimit: 100 }, { actor: 'cli:test' })
    // Minutes are fixed on the clock: the 15 batches must fall in one.
    const intoMinute = Date.now() % 60_000
    if (intoMinute > 50_000) await sleep(60_000 - intoMinute + 100)
    const statuses: number[] = []
    const refusedBy = new Set<string>()
    for (let i = 0; i < 15; i++) {
      const instance = fleet.next()
      const batch = Array.from({ length: 10 }, (_, j) => entry({ message: `batch ${i} entry ${j}` }))
      const res = await call(instance.base, 'POST', '/api/v1/logs', tenant.apiKey, batch)
      statuses.push(res.status)
      if (res.status === 429 && res.body.code === 'ingest_rate_limited') refusedBy.add(instance.name)
    }
    t.same(statuses, [...Array(10).fill(201), ...Array(5).fill(429)], '100 entries per minute in all: 10 batches of 10 stored, then 429')
    t.ok(everyInstance(refusedBy), `every instance refused the client with ingest_rate_limited (${[...refusedBy].join(', ')})`)
    const stored = await db.selectFrom('logs').select((eb) => eb.fn.countAll<number>().as('n')).where('client_id', '=', tenant.clientId).executeTakeFirstOrThrow()
    t.equal(Number(stored.n), 100, 'exactly 100 entries stored')
  })

  await t.test('a key revoked through any instance is refused by every instance within a second', async (t) => {
    const latencies: number[] = []
    for (const through of fleet.instances) {
      const victim = await addTenant(url, 'acme')
      for (const instance of fleet.instances) {
        t.equal((await call(instance.base, 'GET', '/api/v1/logs?limit=1', victim.apiKey)).status, 200, `${instance.name} accepts the key (and caches it)`)
      }
      const revoked = await call(through.base, 'DELETE', `/api/v1/keys/${victim.keyId}`, owner.apiKey)
      const answeredAt = performance.now()
      t.equal(revoked.status, 200, `revoked through ${through.name}`)
      for (const instance of fleet.instances) {
        let res = await call(instance.base, 'GET', '/api/v1/logs?limit=1', victim.apiKey)
        while (res.status === 200 && performance.now() - answeredAt < 5000) {
          await sleep(10)
          res = await call(instance.base, 'GET', '/api/v1/logs?limit=1', victim.apiKey)
        }
        const afterMs = performance.now() - answeredAt
        t.equal(res.body.code, 'revoked_api_key', `${instance.name} refuses it`)
        t.ok(afterMs < REVOCATION_BOUND_MS, `${instance.name} refused it ${afterMs.toFixed(0)} ms after ${through.name} answered`)
        if (instance !== through) latencies.push(afterMs)
      }
    }
    t.comment(`revocation seen by the other instances after (ms): ${latencies.map((ms) => ms.toFixed(0)).join(', ')}`)
  })

  await t.test('a tail on each instance gets every log written through any instance', async (t) => {
    const tenant = await addTenant(url, 'tailed')
    const tails = await Promise.all(fleet.instances.map(async (instance) => await openTail(instance.base, tenant.apiKey, '?workflow_id=tailed')))
    t.teardown(() => { for (const tail of tails) tail.close() })
    t.same(tails.map((tail) => tail.status), [200, 200, 200], 'a tail open on each instance')
    const ids: string[] = []
    for (let i = 0; i < 30; i++) {
      const res = await call(fleet.next().base, 'POST', '/api/v1/logs', tenant.apiKey, entry({ workflow_id: 'tailed', message: `tailed ${i}` }))
      ids.push(res.body.id as string)
    }
    const postedAt = performance.now()
    for (const [i, tail] of tails.entries()) {
      const events = await tail.waitForEvents(30, 5000)
      const tookMs = performance.now() - postedAt
      t.same(events.map((event) => event.id).sort(), [...ids].sort(), `the tail on ${names[i]} got all 30 logs, ten written through each instance`)
      t.ok(tookMs < 1000, `all there ${tookMs.toFixed(0)} ms after the last write was answered`)
    }
  })

  await t.test('retries spread over the instances, one of them killed and replaced: each event stored once', async (t) => {
    const tenant = await addTenant(url, 'retried')

    // Every event sent to all three at once, as retries that overtake the first attempt do.
    const raced: string[] = []
    for (let i = 0; i < 100; i++) {
      const answers = await Promise.all(fleet.instances.map(async (instance) =>
        await call(instance.base, 'POST', '/api/v1/logs', tenant.apiKey, entry({ event_id: `race-${i}`, workflow_id: 'raced' }))))
      const ids = new Set(answers.map((answer) => answer.body.id))
      if (answers.some((answer) => answer.status !== 201) || ids.size !== 1) raced.push(`race-${i}: ${answers.map((answer) => `${answer.status} ${String(answer.body.id)}`).join(', ')}`)
    }
    t.same(raced, [], '100 events each sent to the three instances at once: every answer 201, naming the same log')
    const racedRows = await db.selectFrom('logs').select((eb) => eb.fn.countAll<number>().as('n')).where('client_id', '=', tenant.clientId).where('workflow_id', '=', 'raced').executeTakeFirstOrThrow()
    t.equal(Number(racedRows.n), 100, '100 logs stored')

    // A load whose attempts and retries go round the fleet; one instance dies under it.
    const load = startLoad({ target: () => fleet.next().base, apiKey: tenant.apiKey, events: 2000, concurrency: 20, retryDelayMs: 20 })
    await until('a third of the load stored', () => load.stored() >= 600, 60_000)
    const victim = fleet.instances[2]!
    await killService(victim)
    await until('two thirds of the load stored', () => load.stored() >= 1300, 60_000)
    // Lives on past this subtest, to the fleet's end.
    fleet.instances[2] = await startService(fleetTest, 'C2', env)
    await load.done
    t.comment(describeLoad(load))
    t.ok(load.unanswered > 0, `${load.unanswered} attempts sent to the killed instance went unanswered, and were retried on the others`)
    t.same(Object.keys(load.statuses).filter((status) => status !== '201'), [], 'every answer was 201')
    await expectExactlyOnce(t, url, tenant.clientId, load)
  })

  await t.test('each instance stops cleanly', async (t) => {
    for (const instance of fleet.instances) {
      instance.child.kill('SIGTERM')
      t.equal(await instance.exited, 0, `${instance.name} exits 0`)
      t.same(errorLines(instance), [], `${instance.name} logged no error`)
    }
  })
})
