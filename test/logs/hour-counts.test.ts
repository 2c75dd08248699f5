// log_hour_counts, the per-hour counts the stats sum whole hours from: kept
// exact by triggers whatever writes logs, and the stats built on it equal to
// counting the logs themselves, over ranges that cut hours anywhere.
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { FastifyInstance } from 'fastify'
import { FileMigrationProvider, Migrator, sql } from 'kysely'
import t from 'tap'
import { migrateToLatest } from '../../src/db/migrate.ts'
import type { StatsAnswerBody } from '../../src/logs/stats-schemas.ts'
import { purgeExpired } from '../../src/retention/purge.ts'
import { buildTestApp, entry, issueKey, postLogs } from '../helper.ts'

const HOUR_MS = 3_600_000
const DAY_MS = 24 * HOUR_MS
const START = Date.parse('2026-11-20T00:00:00Z')
const STATUSES = ['SUCCESS', 'FAILURE', 'RUNNING']
const LEVELS = ['info', 'warn', 'error']
const ENVIRONMENTS = ['production', 'staging']

/** A small deterministic generator (mulberry32): the same logs and ranges every run. */
function randomOf (seed: number): () => number {
  let state = seed
  return () => {
    state = (state + 0x6D2B79F5) | 0
    let x = Math.imul(state ^ (state >>> 15), 1 | state)
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

function pick<T> (random: () => number, values: readonly T[]): T {
  return values[Math.floor(random() * values.length)]!
}

interface Counted { client_id: string, hour: Date, status: string, level: string, environment: string, logs: number }

/** The counts as kept, and as counted from the logs now: equal when the triggers kept them exact. */
async function countsBothWays (app: FastifyInstance): Promise<{ kept: Counted[], counted: Counted[] }> {
  const kept = await sql<Counted>`
    select client_id, hour, status, level, environment, logs from log_hour_counts
    order by client_id, hour, status, level, environment`.execute(app.db)
  const counted = await sql<Counted>`
    select client_id, date_bin('1 hour', executed_at, timestamptz '2000-01-01 00:00:00+00') as hour, status, level, environment,
      count(*)::int8 as logs
    from logs group by 1, 2, 3, 4, 5 order by 1, 2, 3, 4, 5`.execute(app.db)
  return { kept: kept.rows, counted: counted.rows }
}

async function post (app: FastifyInstance, apiKey: string, entries: Array<Record<string, unknown>>): Promise<void> {
  const res = await postLogs(app, apiKey, entries)
  if (res.statusCode !== 201) throw new Error(`ingest answered ${res.statusCode}: ${res.body}`)
}

/** `count` logs spread over three days from START, with event_ids of which some repeat. */
function randomLogs (random: () => number, count: number): Array<Record<string, unknown>> {
  return Array.from({ length: count }, () => entry({
    executed_at: new Date(START + Math.floor(random() * 3 * DAY_MS)).toISOString(),
    status: pick(random, STATUSES),
    level: pick(random, LEVELS),
    environment: pick(random, ENVIRONMENTS),
    event_id: `event-${Math.floor(random() * count * 4)}`
  }))
}

void t.test('the stats equal the logs counted one by one, for ranges that cut hours anywhere', async (t) => {
  const { app } = await buildTestApp(t)
  const acme = await issueKey(app, 'acme')
  const other = await issueKey(app, 'other')
  const random = randomOf(20261203)
  for (let batch = 0; batch < 4; batch++) {
    await post(app, acme.apiKey, randomLogs(random, 250))
    await post(app, other.apiKey, randomLogs(random, 100))
  }
  const { rows: stored } = await sql<{ executed_at: Date, status: string, level: string, environment: string }>`
    select executed_at, status, level, environment from logs where client_id = ${acme.clientId}`.execute(app.db)
  t.ok(stored.length > 500 && stored.length < 1000, `some event_ids repeated: ${stored.length} logs stored`)

  const groups = [undefined, 'status', 'level', 'environment'] as const
  for (let round = 0; round < 40; round++) {
    // Ranges from whole hours to odd milliseconds, some within one hour, some past the logs.
    const from = START - DAY_MS / 2 + Math.floor(random() * 3 * DAY_MS)
    const to = from + 1 + Math.floor(random() * (round % 4 === 0 ? HOUR_MS : 2 * DAY_MS))
    const interval = pick(random, ['hour', 'day'] as const)
    const group = pick(random, groups)
    const filter: Record<string, string> = round % 3 === 0 ? { status: pick(random, STATUSES) } : round % 3 === 1 ? { environment: pick(random, ENVIRONMENTS) } : {}
    const query = new URLSearchParams({
      from: new Date(from).toISOString(), to: new Date(to).toISOString(), interval, ...(group === undefined ? {} : { group_by: group }), ...filter
    })
    const res = await app.inject({ method: 'GET', url: `/api/v1/logs/stats?${query.toString()}`, headers: { 'x-api-key': acme.apiKey } })
    t.equal(res.statusCode, 200, query.toString())
    const body = res.json<StatsAnswerBody>()

    const size = interval === 'hour' ? HOUR_MS : DAY_MS
    const expected = new Map<string, Map<string | null, number>>()
    for (const log of stored) {
      const time = log.executed_at.getTime()
      if (time < from || time >= to) continue
      if (Object.entries(filter).some(([field, value]) => log[field as 'status' | 'environment'] !== value)) continue
      const start = new Date(Math.floor(time / size) * size).toISOString()
      const values = expected.get(start) ?? new Map<string | null, number>()
      const value = group === undefined ? null : log[group]
      values.set(value, (values.get(value) ?? 0) + 1)
      expected.set(start, values)
    }
    const got = Object.fromEntries(body.buckets.filter((bucket) => bucket.total > 0).map((bucket) => [bucket.start, {
      total: bucket.total,
      counts: group === undefined ? {} : Object.fromEntries(bucket.counts.map(({ value, count }) => [value, count]))
    }]))
    const want = Object.fromEntries([...expected].map(([start, values]) => [start, {
      total: [...values.values()].reduce((sum, count) => sum + count, 0),
      counts: group === undefined ? {} : Object.fromEntries(values)
    }]))
    t.same(got, want, query.toString())
  }
})

void t.test('the counts stay exact through replayed event_ids, deletes, updates, a rollback, a client deleted', async (t) => {
  const { app } = await buildTestApp(t)
  const acme = await issueKey(app, 'acme')
  const gone = await issueKey(app, 'gone')
  const random = randomOf(7)
  await post(app, acme.apiKey, randomLogs(random, 300))
  await post(app, acme.apiKey, randomLogs(random, 300))
  await post(app, gone.apiKey, randomLogs(random, 50))
  let both = await countsBothWays(app)
  t.ok(both.kept.length > 50, `${both.kept.length} hour counts`)
  t.same(both.kept, both.counted, 'after inserts with replayed event_ids')

  // Retention deletes a day and a half of acme's logs, in batches.
  const result = await purgeExpired(app.db, { defaultDays: 30, batchRows: 37, now: new Date(START + 30 * DAY_MS + 1.5 * DAY_MS + 1234) })
  t.ok((result?.deleted ?? 0) > 100, `the purge deleted ${result?.deleted ?? 0} logs`)
  both = await countsBothWays(app)
  t.same(both.kept, both.counted, 'after the purge')
  t.notOk(both.kept.some((row) => row.logs <= 0), 'no count at zero is left behind')

  await sql`update logs set status = 'FAILURE', environment = 'elsewhere' where client_id = ${acme.clientId} and level = 'warn'`.execute(app.db)
  both = await countsBothWays(app)
  t.same(both.kept, both.counted, 'after an update of the counted columns')

  await t.rejects(app.db.transaction().execute(async (trx) => {
    await sql`delete from logs where client_id = ${acme.clientId} and level = 'info'`.execute(trx)
    throw new Error('changed my mind')
  }), /changed my mind/)
  both = await countsBothWays(app)
  t.same(both.kept, both.counted, 'after a delete rolled back')

  await sql`delete from clients where id = ${gone.clientId}`.execute(app.db)
  both = await countsBothWays(app)
  t.same(both.kept, both.counted, 'after a client was deleted with its logs')
  t.notOk(both.kept.some((row) => row.client_id === gone.clientId), 'none of its counts remain')
})

void t.test('the migration counts the logs stored before it', async (t) => {
  const { app } = await buildTestApp(t)
  const acme = await issueKey(app, 'acme')
  await post(app, acme.apiKey, randomLogs(randomOf(11), 200))
  const migrator = new Migrator({
    db: app.db,
    provider: new FileMigrationProvider({ fs, path, migrationFolder: fileURLToPath(new URL('../../db/migrations', import.meta.url)) })
  })
  // Back to the migration before the hour counts, whatever came after them.
  const down = await migrator.migrateTo('2026-12-03T00-00-00_client_ingest_defaults')
  t.equal(down.error, undefined)
  t.equal(down.results?.at(-1)?.migrationName, '2026-12-03T12-00-00_log_hour_counts', 'the hour counts are undone last')
  const { rows: [table] } = await sql<{ name: string | null }>`select to_regclass('log_hour_counts')::text as name`.execute(app.db)
  t.equal(table?.name, null, 'undone: no table')

  await migrateToLatest(app.db)
  const both = await countsBothWays(app)
  t.ok(both.kept.length > 50, `${both.kept.length} hour counts`)
  t.same(both.kept, both.counted, 'every log stored before the migration counted')
})
