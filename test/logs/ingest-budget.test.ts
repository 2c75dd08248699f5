// The per-client ingest budget: entries and bytes per minute, taken in one
// step, with or without Redis.
import { setTimeout } from 'node:timers/promises'
import { Redis } from 'ioredis'
import t, { type Test } from 'tap'
import { setClientLimits } from '../../src/clients/settings.ts'
import { list } from '../../src/cli/commands/list.ts'
import { INGEST_WINDOW_MS, MemoryIngestBudget, RedisIngestBudget, type IngestVolume, type IngestBudget } from '../../src/logs/ingest-budget.ts'
import { buildTestApp, countLogs, entry, expectError, issueKey, postLogs, testRedis } from '../helper.ts'
import { minuteStartClock } from './clock-minute.ts'
import { sql } from 'kysely'

// The per-client ingest volume limit: log entries per minute, a batch counting
// each entry. A client over it gets 429 with Retry-After and stores nothing,
// while another client's batches all pass; a refused or invalid request takes
// nothing from the budget; with Redis, instances share one budget.
const batch = (size: number): Array<Record<string, unknown>> => Array.from({ length: size }, (_, i) => entry({ message: `entry ${i}` }))
const LIMITED = { INGEST_RATE_LIMIT: '1000', RATE_LIMIT_MAX: '100000' }

void t.test('a client over its entries per minute gets 429 and stores nothing; another client is not slowed', async (t) => {
  const ingestClock = minuteStartClock()
  const { app } = await buildTestApp(t, LIMITED, { ingestClock })
  const acme = await issueKey(app, 'acme')
  const globex = await issueKey(app, 'globex')

  t.equal((await postLogs(app, acme.apiKey, batch(1000))).statusCode, 201, 'a 1,000-entry batch uses the whole minute')
  const over = await postLogs(app, acme.apiKey, entry())
  const body = expectError(t, over, 429, 'ingest_rate_limited')
  const retryAfter = Number(over.headers['retry-after'])
  t.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After is within the minute (${retryAfter})`)
  t.match(body.details, { limit: 1000, used: 1000, entries: 1, retry_after_seconds: retryAfter })
  t.equal(await countLogs(app, acme.clientId), 1000, 'the refused entry was not stored')

  for (let i = 0; i < 2; i++) {
    t.equal((await postLogs(app, globex.apiKey, batch(500))).statusCode, 201, `globex batch ${i + 1} passes`)
  }
  t.equal(await countLogs(app, globex.clientId), 1000)
  const read = await app.inject({ method: 'GET', url: '/api/v1/logs?limit=1', headers: { 'x-api-key': acme.apiKey } })
  t.equal(read.statusCode, 200, 'reading is not ingest: acme can still read')

  await app.usage.flush()
  const usage = await app.db.selectFrom('usage_daily').select(['rate_limited', 'logs_accepted']).where('client_id', '=', acme.clientId).executeTakeFirstOrThrow()
  t.same(usage, { rate_limited: 1, logs_accepted: 1000 }, 'the refusal is counted in usage')
})

void t.test('a refused or invalid request takes nothing; a request that can never fit is 413', async (t) => {
  const ingestClock = minuteStartClock()
  const { app } = await buildTestApp(t, { ...LIMITED, INGEST_RATE_LIMIT: '100' }, { ingestClock })
  const acme = await issueKey(app, 'acme')
  t.equal((await postLogs(app, acme.apiKey, batch(60))).statusCode, 201)
  expectError(t, await postLogs(app, acme.apiKey, batch(60)), 429, 'ingest_rate_limited')
  expectError(t, await postLogs(app, acme.apiKey, [...batch(10), { bad: true }]), 400, 'invalid_entries')
  t.equal((await postLogs(app, acme.apiKey, batch(40))).statusCode, 201, 'exactly the limit fits: the refusals took nothing')
  expectError(t, await postLogs(app, acme.apiKey, entry()), 429, 'ingest_rate_limited')

  const { app: other } = await buildTestApp(t, { ...LIMITED, INGEST_RATE_LIMIT: '100' }, { ingestClock })
  const globex = await issueKey(other, 'globex')
  const tooBig = expectError(t, await postLogs(other, globex.apiKey, batch(101)), 413, 'batch_over_ingest_limit')
  t.match(tooBig.details, { limit: 100, entries: 101 })
  const partial = await postLogs(other, globex.apiKey, [...batch(100), { bad: true }], { query: '?partial=true' })
  t.equal(partial.statusCode, 201, 'with ?partial=true only the valid entries count')
  t.equal(await countLogs(other, globex.clientId), 100)
})

void t.test('a client\'s own ingest limit, set by the provider, applies on a running instance at once', async (t) => {
  const ingestClock = minuteStartClock()
  const { app } = await buildTestApp(t, { ...LIMITED, INGEST_RATE_LIMIT: '10' }, { ingestClock })
  const acme = await issueKey(app, 'acme')
  t.equal((await postLogs(app, acme.apiKey, batch(10))).statusCode, 201, 'the service\'s default first (the key is now cached)')
  await setClientLimits(app.db, acme.clientId, { ingestRateLimit: 50 }, { actor: 'cli:test' })
  let status = 0
  for (let i = 0; i < 50 && status !== 201; i++) {
    await setTimeout(20)
    status = (await postLogs(app, acme.apiKey, batch(20))).statusCode
  }
  t.equal(status, 201, 'the raised limit reached the cached key through the change notification')
  const audit = await app.db.selectFrom('audit_events').select('details').where('event', '=', 'client.updated').executeTakeFirstOrThrow()
  t.same(audit.details, { ingest_rate_limit: { from: null, to: 50 } }, 'the change is audited')
  const listed = await list(app.db, { clientName: 'acme' })
  t.match(listed.json, { clients: [{ client_name: 'acme', ingest_rate_limit: 50, signs: false }] })
  t.match(listed.text, /acme {2}\(.*, 50 log entries per minute\)/, 'keys list shows it')
})

/** Entries alone, and a limit in entries alone: bytes have tests of their own (ingest-bytes.test.ts). */
const n = (entries: number): IngestVolume => ({ entries, bytes: 0 })
const most = (entries: number): IngestVolume => ({ entries, bytes: 2 ** 50 })

void t.test('the budget: fixed minutes on the clock, refused takes nothing, refunds give back', async (t) => {
  const budget = new MemoryIngestBudget()
  const minute = 1000 * INGEST_WINDOW_MS
  t.match(await budget.take('a', n(7), most(10), minute + 1000), { ok: true })
  t.match(await budget.take('a', n(4), most(10), minute + 2000), { ok: false, over: 'entries', used: { entries: 7 }, retryAfterSeconds: 58 })
  const last = await budget.take('a', n(3), most(10), minute + 59_500)
  t.match(last, { ok: true }, 'up to the limit')
  if (last.ok) await last.refund()
  t.match(await budget.take('a', n(3), most(10), minute + 59_600), { ok: true }, 'a refund gives the entries back')
  t.match(await budget.take('b', n(10), most(10), minute + 59_700), { ok: true }, 'clients count apart')
  t.match(await budget.take('a', n(10), most(10), minute + INGEST_WINDOW_MS), { ok: true }, 'the next minute starts afresh')
})

const redis = testRedis(t, 'the shared ingest budgets (entries and bytes) are not tested')

void t.test('with Redis, two instances share one ingest budget', { skip: redis.skip }, async (t) => {
  const ingestClock = minuteStartClock()
  const a = await buildTestApp(t, { ...LIMITED, INGEST_RATE_LIMIT: '100', REDIS_URL: redis.url }, { ingestClock })
  const b = await buildTestApp(t, { ...LIMITED, INGEST_RATE_LIMIT: '100', REDIS_URL: redis.url, DATABASE_URL: a.databaseUrl }, { ingestClock })
  const acme = await issueKey(a.app, 'acme')
  t.equal((await postLogs(a.app, acme.apiKey, batch(70))).statusCode, 201)
  expectError(t, await postLogs(b.app, acme.apiKey, batch(40)), 429, 'ingest_rate_limited')
  t.equal((await postLogs(b.app, acme.apiKey, batch(30))).statusCode, 201, 'the other instance sees what the first took')

  const direct = new Redis(redis.url)
  t.teardown(() => { direct.disconnect() })
  const budget = new RedisIngestBudget(direct, () => {})
  const id = `unit-${Date.now()}-${Math.random()}`
  const taken = await budget.take(id, n(8), most(10), ingestClock())
  t.match(taken, { ok: true })
  t.match(await budget.take(id, n(3), most(10), ingestClock()), { ok: false, used: { entries: 8 } }, 'refused, and takes nothing')
  if (taken.ok) await taken.refund()
  t.match(await budget.take(id, n(10), most(10), ingestClock()), { ok: true }, 'the refund gave the entries back')

  const race = `race-${id}`
  t.match(await budget.take(race, n(90), most(100), ingestClock()), { ok: true })
  const [big, small] = await Promise.all([budget.take(race, n(50), most(100), ingestClock()), budget.take(race, n(5), most(100), ingestClock())])
  t.match([big, small], [{ ok: false }, { ok: true }], 'at once, a batch that fits is not refused for one that does not')

  const late = `late-${id}`
  const lateTaken = await budget.take(late, n(10), most(100), ingestClock())
  await direct.del(budget.keyOf(late, Math.floor(ingestClock() / INGEST_WINDOW_MS))) // the minute has expired meanwhile
  if (lateTaken.ok) await lateTaken.refund()
  t.equal(await direct.keys(`central-logger:*${late}*`).then((keys) => keys.length), 0, 'a late refund leaves no count behind')
})

void t.test('with Redis unreachable, ingest is not limited rather than refused', async (t) => {
  const { app } = await buildTestApp(t, { ...LIMITED, INGEST_RATE_LIMIT: '10', REDIS_URL: 'redis://127.0.0.1:1' })
  const acme = await issueKey(app, 'acme')
  for (let i = 0; i < 3; i++) t.equal((await postLogs(app, acme.apiKey, batch(10))).statusCode, 201)
})

// The per-client ingest bytes limit: counted bytes of log entries per minute,
// beside the entries limit and taken in the same step. A request over it gets
// 429 and takes nothing, one that could never fit 413; entries and bytes are
// taken and given back together; the provider's override applies at once;
// with Redis, instances share one budget.
// entry() stores "production", "SUCCESS" and the default level "info": 21 bytes.
const BASE = 21
/** An entry that counts for exactly `bytes`. */
const sized = (bytes: number): Record<string, unknown> => entry({ message: 'x'.repeat(bytes - BASE) })
const SMALL = { MAX_BODY_BYTES: '4096', INGEST_BYTES_LIMIT: '4096', RATE_LIMIT_MAX: '100000' }

void t.test('a client over its bytes per minute gets 429 and stores nothing; the refusal takes nothing; another client passes', async (t) => {
  const ingestClock = minuteStartClock()
  const { app } = await buildTestApp(t, SMALL, { ingestClock })
  const acme = await issueKey(app, 'acme')
  const globex = await issueKey(app, 'globex')

  t.equal((await postLogs(app, acme.apiKey, [sized(1000), sized(1000), sized(1000)])).statusCode, 201)
  const over = await postLogs(app, acme.apiKey, [sized(1000), sized(1000)])
  const body = expectError(t, over, 429, 'ingest_bytes_rate_limited')
  const retryAfter = Number(over.headers['retry-after'])
  t.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After is within the minute (${retryAfter})`)
  t.same(body.details, { limit_bytes: 4096, used_bytes: 3000, bytes: 2000, retry_after_seconds: retryAfter })
  t.match(body.message, /4 KiB of log entries per minute/)
  t.equal(await countLogs(app, acme.clientId), 3, 'the refused entries were not stored')

  t.equal((await postLogs(app, acme.apiKey, sized(1096))).statusCode, 201, 'exactly the limit fits: the refusal took nothing')
  expectError(t, await postLogs(app, acme.apiKey, entry()), 429, 'ingest_bytes_rate_limited')
  t.equal((await postLogs(app, globex.apiKey, [sized(1500), sized(1500)])).statusCode, 201, 'globex has a minute of its own')

  await app.usage.flush()
  const usage = await app.db.selectFrom('usage_daily').select(['rate_limited', 'rejected_requests', 'logs_accepted'])
    .where('client_id', '=', acme.clientId).executeTakeFirstOrThrow()
  t.same(usage, { rate_limited: 2, rejected_requests: 2, logs_accepted: 4 }, 'refusals for bytes count as rate-limited, as for entries')
})

void t.test('entries and bytes are taken together: a refusal for either takes neither; a request that can never fit is 413', async (t) => {
  const ingestClock = minuteStartClock()
  const { app } = await buildTestApp(t, { RATE_LIMIT_MAX: '100000' }, { ingestClock })
  const acme = await issueKey(app, 'acme')
  const globex = await issueKey(app, 'globex')
  for (const client of [acme, globex]) {
    await setClientLimits(app.db, client.clientId, { ingestRateLimit: 5, ingestBytesLimit: 4096 }, { actor: 'cli:test' })
  }

  // Refused for its bytes, it must not have taken its entry.
  t.equal((await postLogs(app, acme.apiKey, [entry(), entry(), entry(), entry()])).statusCode, 201, '4 entries, 84 bytes')
  expectError(t, await postLogs(app, acme.apiKey, sized(4096 - 4 * BASE + 1)), 429, 'ingest_bytes_rate_limited')
  t.equal((await postLogs(app, acme.apiKey, entry())).statusCode, 201, 'the fifth entry still fits')

  // Refused for its entries, it must not have taken its bytes.
  t.equal((await postLogs(app, globex.apiKey, [entry(), entry(), entry()])).statusCode, 201, '3 entries, 63 bytes')
  expectError(t, await postLogs(app, globex.apiKey, [sized(1000), sized(1000), sized(1000)]), 429, 'ingest_rate_limited')
  t.equal((await postLogs(app, globex.apiKey, [sized(2000), sized(4096 - 3 * BASE - 2000)])).statusCode, 201,
    'the rest of the bytes still fit')

  const never = expectError(t, await postLogs(app, acme.apiKey, sized(4097)), 413, 'batch_over_ingest_bytes_limit')
  t.same(never.details, { limit_bytes: 4096, bytes: 4097 })
  t.equal(await countLogs(app), 10, 'nothing refused was stored')
})

void t.test('a failed write gives back its entries and its bytes, and stores no bytes', async (t) => {
  const ingestClock = minuteStartClock()
  const { app } = await buildTestApp(t, { RATE_LIMIT_MAX: '100000' }, { ingestClock })
  const acme = await issueKey(app, 'acme')
  await setClientLimits(app.db, acme.clientId, { ingestRateLimit: 2, ingestBytesLimit: 4096 }, { actor: 'cli:test' })
  // The database refuses this one entry as if it were going away: the request is answered 503 after the budget was taken.
  await sql`CREATE FUNCTION refuse_doomed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION 'going away' USING ERRCODE = '57P03'; END $$`.execute(app.db)
  await sql`CREATE TRIGGER refuse_doomed BEFORE INSERT ON logs FOR EACH ROW WHEN (NEW.event_id = 'doomed')
    EXECUTE FUNCTION refuse_doomed()`.execute(app.db)

  expectError(t, await postLogs(app, acme.apiKey, [{ ...sized(2000), event_id: 'doomed' }, sized(2000)]), 503, 'database_unavailable')
  t.equal((await postLogs(app, acme.apiKey, [sized(2000), sized(2096)])).statusCode, 201, 'both limits are whole again')
  const stored = await app.db.selectFrom('logs').select((eb) => eb.fn.sum<number>('size_bytes').as('bytes')).executeTakeFirstOrThrow()
  await app.usage.flush()
  const counted = await app.db.selectFrom('client_storage').select((eb) => eb.fn.sum<number>('stored_bytes').as('bytes')).executeTakeFirstOrThrow()
  t.same([Number(stored.bytes), Number(counted.bytes)], [4096, 4096], 'only the written request counts as stored')
})

void t.test('the provider\'s byte limit and storage quota reach a running instance at once', async (t) => {
  const ingestClock = minuteStartClock()
  const { app } = await buildTestApp(t, { RATE_LIMIT_MAX: '100000' }, { ingestClock })
  const acme = await issueKey(app, 'acme')
  t.equal((await postLogs(app, acme.apiKey, sized(5000))).statusCode, 201, 'the service\'s default first (the key is now cached)')
  await setClientLimits(app.db, acme.clientId, { ingestBytesLimit: 4096, storageQuotaBytes: 5000 }, { actor: 'cli:test' })
  let status = 0
  for (let i = 0; i < 50 && status !== 413; i++) {
    await setTimeout(20)
    status = (await postLogs(app, acme.apiKey, sized(5000))).statusCode
  }
  t.equal(status, 413, 'the lower byte limit reached the cached key through the change notification')
  expectError(t, await postLogs(app, acme.apiKey, entry()), 403, 'storage_quota_exceeded')
  const audit = await app.db.selectFrom('audit_events').select('details').where('event', '=', 'client.updated').executeTakeFirstOrThrow()
  t.same(audit.details, { ingest_bytes_limit: { from: null, to: 4096 }, storage_quota_bytes: { from: null, to: 5000 } }, 'the change is audited')
})

/** Each budget, whatever keeps it: both counters checked and taken in one step. */
async function takesTogether (t: Test, budget: IngestBudget, client: string, nowMs?: number): Promise<void> {
  const limits = { entries: 5, bytes: 100 }
  t.match(await budget.take(client, { entries: 3, bytes: 10 }, limits, nowMs), { ok: true })
  t.match(await budget.take(client, { entries: 3, bytes: 50 }, limits, nowMs), { ok: false, over: 'entries', used: { entries: 3, bytes: 10 } })
  const rest = await budget.take(client, { entries: 1, bytes: 90 }, limits, nowMs)
  t.match(rest, { ok: true }, 'refused for entries, it took no bytes')
  t.match(await budget.take(client, { entries: 1, bytes: 1 }, limits, nowMs), { ok: false, over: 'bytes', used: { entries: 4, bytes: 100 } })
  if (rest.ok) await rest.refund()
  t.match(await budget.take(client, { entries: 2, bytes: 90 }, limits, nowMs), { ok: true },
    'refused for bytes, it took no entry; and the refund gave back both')
  t.match(await budget.take(client, { entries: 0, bytes: 1 }, limits, nowMs), { ok: false, over: 'bytes', used: { entries: 5, bytes: 100 } })
}

void t.test('in memory, entries and bytes are checked, taken and refunded together', async (t) => {
  await takesTogether(t, new MemoryIngestBudget(), 'acme', 1000 * INGEST_WINDOW_MS + 1000)
})

void t.test('with Redis, two instances share one bytes budget, taken with the entries in one step', { skip: redis.skip }, async (t) => {
  const ingestClock = minuteStartClock()
  const a = await buildTestApp(t, { ...SMALL, REDIS_URL: redis.url }, { ingestClock })
  const b = await buildTestApp(t, { ...SMALL, REDIS_URL: redis.url, DATABASE_URL: a.databaseUrl }, { ingestClock })
  const acme = await issueKey(a.app, 'acme')
  t.equal((await postLogs(a.app, acme.apiKey, [sized(1000), sized(1000), sized(1000)])).statusCode, 201)
  expectError(t, await postLogs(b.app, acme.apiKey, [sized(1000), sized(1000)]), 429, 'ingest_bytes_rate_limited')
  t.equal((await postLogs(b.app, acme.apiKey, sized(1096))).statusCode, 201, 'the other instance sees what the first took')
  expectError(t, await postLogs(a.app, acme.apiKey, entry()), 429, 'ingest_bytes_rate_limited')

  const direct = new Redis(redis.url)
  t.teardown(() => { direct.disconnect() })
  const budget = new RedisIngestBudget(direct, () => {})
  const id = `bytes-${Date.now()}-${Math.random()}`
  const now = ingestClock()
  await takesTogether(t, budget, id, now)
  const key = budget.keyOf(id, Math.floor(now / INGEST_WINDOW_MS))
  t.same(await direct.hgetall(key), { entries: '5', bytes: '100' }, 'one hash holds both counters')
  t.ok(await direct.pttl(key) > 0, 'and it expires')

  const elsewhere = new RedisIngestBudget(direct, () => {}, 'another-deployment:')
  t.match(await elsewhere.take(id, { entries: 5, bytes: 100 }, { entries: 5, bytes: 100 }), { ok: true },
    'a deployment with another prefix counts apart')
  t.ok(elsewhere.keyOf(id, 0).startsWith('another-deployment:'))
})
