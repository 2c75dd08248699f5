// Redis stopped, and Redis silent (the process paused: connections open,
// nothing answered), under a service with REDIS_URL set. As the README says:
// requests are answered without the shared limits (request rate and ingest
// volume), ingest goes on, a signed request is 503 nonce_store_unavailable
// (its nonce cannot be recorded), nothing waits on Redis for long, and once
// Redis is back the limits and signed requests work again, in the same process.
import t, { type Test } from 'tap'
import { issueSigningSecret } from '../../src/clients/settings.ts'
import { connect } from '../../src/db/connect.ts'
import { entry, testDatabaseUrl } from '../helper.ts'
import { signedCall } from '../signing/sign.ts'
import { addTenant, migratedWithTenant, type Tenant } from './own-postgres.ts'
import { noRedisServer, ownRedis } from './own-redis.ts'
import { call, errorLines, startService, until, type Service } from './service.ts'

t.setTimeout(180_000)

const SIGNING_KEY = 'redis-faults-signing-key-0123456789abcdef'
const RATE_LIMIT_MAX = 20
const INGEST_RATE_LIMIT = 50

interface Phase {
  /** Requests answered 429, by code, out of 25 reads. */
  readsRefused: number
  /** Batches of 10 answered 201, out of 8. */
  batchesStored: number
  batchCodes: string[]
  signedStatus: number
  signedCode: unknown
  /** The slowest answer of the phase, in ms. */
  slowestMs: number
}

/** Reads and batches past the limits, and one signed request, each for a client of its own so every phase starts from nothing. */
async function probe (service: Service, url: string, name: string, signer: { apiKey: string, secret: string }): Promise<Phase> {
  const reader = await addTenant(url, `${name}-reader`)
  const writer = await addTenant(url, `${name}-writer`)
  let slowestMs = 0
  const timed = async <T>(work: () => Promise<T>): Promise<T> => {
    const started = performance.now()
    try {
      return await work()
    } finally {
      slowestMs = Math.max(slowestMs, performance.now() - started)
    }
  }
  let readsRefused = 0
  for (let i = 0; i < RATE_LIMIT_MAX + 5; i++) {
    const res = await timed(async () => await call(service.base, 'GET', '/api/v1/logs?limit=1', reader.apiKey))
    if (res.status === 429) readsRefused++
    else if (res.status !== 200) throw new Error(`a read answered ${res.status}: ${JSON.stringify(res.body)}`)
  }
  let batchesStored = 0
  const batchCodes: string[] = []
  for (let i = 0; i < 8; i++) {
    const batch = Array.from({ length: 10 }, (_, j) => entry({ message: `${name} ${i}.${j}` }))
    const res = await timed(async () => await call(service.base, 'POST', '/api/v1/logs', writer.apiKey, batch))
    if (res.status === 201) batchesStored++
    else batchCodes.push(String(res.body.code))
  }
  const signed = await timed(async () => await signedCall(service.base, { method: 'GET', target: '/api/v1/logs?limit=1', ...signer }))
  return { readsRefused, batchesStored, batchCodes, signedStatus: signed.status, signedCode: signed.body.code, slowestMs }
}

function expectLimited (t: Test, phase: Phase): void {
  t.equal(phase.readsRefused, 5, `the request rate limit holds: 5 of ${RATE_LIMIT_MAX + 5} reads answered 429`)
  t.ok(phase.batchesStored <= 6 && phase.batchCodes.every((code) => code === 'ingest_rate_limited') && phase.batchCodes.length > 0,
    `the ingest limit holds: ${phase.batchesStored} of 8 batches of 10 stored, then ${phase.batchCodes.join(', ')}`)
  t.equal(phase.signedStatus, 200, 'a signed request is answered 200')
}

function expectServedWithoutRedis (t: Test, phase: Phase): void {
  t.equal(phase.readsRefused, 0, `no read refused: ${RATE_LIMIT_MAX + 5} answered 200 without a rate limit`)
  t.equal(phase.batchesStored, 8, 'every batch stored, without the ingest limit')
  t.equal(phase.signedStatus, 503, 'a signed request is answered 503')
  t.equal(phase.signedCode, 'nonce_store_unavailable', 'nonce_store_unavailable: its nonce cannot be recorded')
  t.ok(phase.slowestMs < 2000, `the slowest answer took ${phase.slowestMs.toFixed(0)} ms`)
}

void t.test('Redis stopped, then silent: the service serves without shared limits, and recovers each time', { skip: noRedisServer() ?? false }, async (t) => {
  const redis = await ownRedis(t)
  const url = await testDatabaseUrl(t)
  const owner: Tenant = await migratedWithTenant(url)
  const db = connect(url, { poolMax: 1, onPoolError: () => {} })
  t.teardown(async () => { await db.destroy() })
  const { secret } = await issueSigningSecret(db, owner.clientId, SIGNING_KEY, { actor: 'cli:test' })
  const signer = { apiKey: owner.apiKey, secret }
  const service = await startService(t, 'service', {
    DATABASE_URL: url,
    REDIS_URL: redis.url,
    REDIS_PREFIX: 'faults:',
    SIGNING_KEY,
    RATE_LIMIT_MAX: String(RATE_LIMIT_MAX),
    INGEST_RATE_LIMIT: String(INGEST_RATE_LIMIT)
  })
  const logged = (message: string): number => service.lines.filter((line) => line.includes(`"msg":"${message}`)).length

  await t.test('Redis up: the limits hold', async (t) => {
    expectLimited(t, await probe(service, url, 'up', signer))
  })

  await t.test('Redis stopped: served, without the shared limits; signed requests 503', async (t) => {
    await redis.stop()
    const phase = await probe(service, url, 'stopped', signer)
    t.comment(`Redis stopped: slowest answer ${phase.slowestMs.toFixed(0)} ms`)
    expectServedWithoutRedis(t, phase)
    t.equal(logged('Redis unreachable'), 1, 'the outage is logged once')
  })

  await t.test('Redis started again: the limits hold again, without a restart of the service', async (t) => {
    await redis.start()
    await until('Redis reachable again', () => logged('Redis reachable again') >= 1, 15_000)
    expectLimited(t, await probe(service, url, 'restarted', signer))
  })

  await t.test('Redis silent (SIGSTOP): served, each use of Redis given up after its timeout', async (t) => {
    redis.pause()
    const phase = await probe(service, url, 'silent', signer)
    t.comment(`Redis silent: slowest answer ${phase.slowestMs.toFixed(0)} ms`)
    expectServedWithoutRedis(t, phase)
  })

  await t.test('Redis answering again (SIGCONT): the limits hold again', async (t) => {
    redis.resume()
    expectLimited(t, await probe(service, url, 'resumed', signer))
  })

  t.equal(service.child.exitCode, null, 'one service process all along')
  t.same(errorLines(service), [], 'nothing logged at error level')
})
