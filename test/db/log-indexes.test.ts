// The indexes of logs: the set the query routes need and no more, each
// filter of the listing served by one, and a migration that can be undone.
import { FileMigrationProvider, Migrator, sql, type Kysely } from 'kysely'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import type { Database } from '../../src/db/schema.ts'
import { buildTestApp, callApi, issueKey } from '../helper.ts'

const MIGRATIONS = fileURLToPath(new URL('../../db/migrations', import.meta.url))

async function logIndexes (db: Kysely<Database>): Promise<Record<string, string>> {
  const { rows } = await sql<{ indexname: string, indexdef: string }>`
    select indexname, indexdef from pg_indexes where tablename = 'logs' order by indexname`.execute(db)
  return Object.fromEntries(rows.map(({ indexname, indexdef }) => [indexname, indexdef.replace(/^.* USING btree /, '').replace(/^.* USING gin /, 'gin ')]))
}

/** The indexes the plan of a statement reads. */
async function indexesRead (db: Kysely<Database>, statement: ReturnType<typeof sql>): Promise<string[]> {
  const { rows } = await sql<{ 'QUERY PLAN': unknown }>`explain (format json) ${statement}`.execute(db)
  return [...JSON.stringify(rows[0]!['QUERY PLAN']).matchAll(/"Index Name":"([^"]+)"/g)].map((match) => match[1]!)
}

/** The index a listing with this filter reads, as the planner chooses it on a tenant of 20,000 logs among 40,000. */
async function indexFor (db: Kysely<Database>, clientId: string, column: 'workflow_id' | 'run_id' | 'status', value: string): Promise<string[]> {
  return await indexesRead(db, sql`
    select id from logs
    where client_id = ${clientId} and ${sql.ref(column)} = ${value}
    order by executed_at, id limit 100`)
}

/** The same for a text search, as the listing words it. */
async function indexForSearch (db: Kysely<Database>, clientId: string, text: string): Promise<string[]> {
  return await indexesRead(db, sql`
    select id from logs
    where client_id = ${clientId} and message ilike ${`%${text}%`}
    order by executed_at desc, id desc limit 100`)
}

void t.test('the partial indexes leave out the rows their filter never asks for, and still serve each filter', async (t) => {
  const { app } = await buildTestApp(t)
  t.same(await logIndexes(app.db), {
    logs_client_event_id_key: '(client_id, event_id) WHERE (event_id IS NOT NULL)',
    logs_client_executed_at_covering_idx: '(client_id, executed_at, id) INCLUDE (status, level, environment, workflow_id)',
    logs_client_message_trgm_idx: 'gin (client_id, message gin_trgm_ops)',
    logs_client_run_idx: '(client_id, run_id, executed_at, id) WHERE (run_id IS NOT NULL)',
    logs_client_status_idx: "(client_id, status, executed_at, id) WHERE (status <> 'SUCCESS'::text)",
    logs_client_workflow_idx: '(client_id, workflow_id, executed_at, id) WHERE (workflow_id IS NOT NULL)',
    logs_pkey: '(client_id, id)'
  })

  const mine = await issueKey(app, 'acme')
  const theirs = await issueKey(app, 'globex')
  for (const client of [mine.clientId, theirs.clientId]) {
    await sql`
      insert into logs (client_id, key_id, id, environment, executed_at, status, level, message, workflow_id, run_id)
      select ${client}::uuid, ${mine.keyId}::uuid, gen_random_uuid(), 'production', now() - i * interval '1 second',
             case when i % 50 = 0 then 'FAILURE' else 'SUCCESS' end, 'info',
             'step ' || i || case when i % 5000 = 7 then ' Prüfsumme falsch' else '' end,
             case when i % 2 = 0 then 'wf-' || (i % 40) end, case when i % 2 = 0 then 'run-' || (i / 10) end
      from generate_series(1, 20000) as i`.execute(app.db)
  }
  // ANALYZE reads a sample of 300 rows per unit of statistics target: at 200,
  // 60,000, so every one of the 40,000 rows. With the default it read a random
  // 30,000, and a rare word's estimate, and so the plan, changed from run to run.
  await sql`alter table logs alter column message set statistics 200`.execute(app.db)
  await sql`analyze logs`.execute(app.db)

  t.same(await indexFor(app.db, mine.clientId, 'workflow_id', 'wf-6'), ['logs_client_workflow_idx'])
  t.same(await indexFor(app.db, mine.clientId, 'run_id', 'run-70'), ['logs_client_run_idx'])
  t.same(await indexFor(app.db, mine.clientId, 'status', 'FAILURE'), ['logs_client_status_idx'])
  // SUCCESS is most of the rows: read in order from the listing index and filtered.
  t.same(await indexFor(app.db, mine.clientId, 'status', 'SUCCESS'), ['logs_client_executed_at_covering_idx'])

  // A rare text is found through the trigram index; one in every message is
  // found sooner by reading the newest rows in order.
  t.same(await indexForSearch(app.db, mine.clientId, 'prüfsumme'), ['logs_client_message_trgm_idx'])
  t.same(await indexForSearch(app.db, mine.clientId, 'absent-word'), ['logs_client_message_trgm_idx'])
  t.same(await indexForSearch(app.db, mine.clientId, 'step'), ['logs_client_executed_at_covering_idx'])

  // Stats count from the listing index alone, grouped by any of the columns it carries (once vacuumed, as autovacuum does).
  await sql`vacuum analyze logs`.execute(app.db)
  for (const column of ['status', 'level', 'environment', 'workflow_id'] as const) {
    const { rows } = await sql<{ 'QUERY PLAN': unknown }>`explain (format json)
      select date_bin('1 hour', executed_at, timestamptz '2000-01-01 00:00:00+00'), ${sql.ref(column)}, count(*) from logs
      where client_id = ${mine.clientId} and executed_at >= now() - interval '1 hour' and executed_at < now() and level = 'info'
      group by 1, 2`.execute(app.db)
    const plan = JSON.stringify(rows[0]!['QUERY PLAN'])
    t.match(plan, /"Node Type":"Index Only Scan"/, `stats by ${column}: an index-only scan`)
    t.same([...plan.matchAll(/"Index Name":"([^"]+)"/g)].map((match) => match[1]), ['logs_client_executed_at_covering_idx'])
  }

  // The listing answers every filter, the values left out of an index
  // included, with the caller's logs alone (the other tenant has the same ones).
  const list = async (query: string): Promise<{ data: Array<Record<string, unknown>>, next_cursor: string | null }> => {
    const res = await callApi(app, mine.apiKey, 'GET', `/api/v1/logs?limit=1000&${query}`)
    t.equal(res.statusCode, 200, query)
    return res.json()
  }
  const failures = await list('status=FAILURE')
  t.equal(failures.data.length, 400)
  t.equal(failures.next_cursor, null)
  t.ok(failures.data.every((log) => log.status === 'FAILURE'))
  const successes = await list('status=SUCCESS')
  t.equal(successes.data.length, 1000)
  t.not(successes.next_cursor, null)
  t.ok(successes.data.every((log) => log.status === 'SUCCESS'))
  const workflow = await list('workflow_id=wf-6')
  t.equal(workflow.data.length, 500)
  t.ok(workflow.data.every((log) => log.workflow_id === 'wf-6'))
  const run = await list('run_id=run-70')
  t.equal(run.data.length, 5)
  t.ok(run.data.every((log) => log.run_id === 'run-70'))
  // Case-insensitive beyond ASCII, from the index as from a scan.
  const found = await list(`q=${encodeURIComponent('PRÜFSUMME')}`)
  t.same(found.data.map((log) => log.message), ['step 7 Prüfsumme falsch', 'step 5007 Prüfsumme falsch', 'step 10007 Prüfsumme falsch', 'step 15007 Prüfsumme falsch'])
})

void t.test('the index migrations can be undone and done again', async (t) => {
  const { app } = await buildTestApp(t)
  const migrator = new Migrator({ db: app.db, provider: new FileMigrationProvider({ fs, path, migrationFolder: MIGRATIONS }) })
  const down = await migrator.migrateTo('2026-12-02T00-00-00_key_creation_and_throttle_blocks')
  t.equal(down.error, undefined)
  t.match(down.results, [
    { migrationName: '2026-12-04T00-00-00_webhooks', direction: 'Down', status: 'Success' },
    { migrationName: '2026-12-03T12-00-00_log_hour_counts', direction: 'Down', status: 'Success' },
    { migrationName: '2026-12-03T00-00-00_client_ingest_defaults', direction: 'Down', status: 'Success' },
    { migrationName: '2026-12-02T20-00-00_listing_index_covers_stats', direction: 'Down', status: 'Success' },
    { migrationName: '2026-12-02T19-00-00_client_retention', direction: 'Down', status: 'Success' },
    { migrationName: '2026-12-02T18-00-00_message_search_index', direction: 'Down', status: 'Success' },
    { migrationName: '2026-12-02T12-00-00_partial_log_indexes', direction: 'Down', status: 'Success' }
  ])
  const full = await logIndexes(app.db)
  t.equal(full.logs_client_message_trgm_idx, undefined)
  t.equal(full.logs_client_executed_at_idx, '(client_id, executed_at, id)')
  t.equal(full.logs_client_executed_at_covering_idx, undefined)
  t.equal(full.logs_client_status_idx, '(client_id, status, executed_at, id)')
  t.equal(full.logs_client_workflow_idx, '(client_id, workflow_id, executed_at, id)')
  t.equal(full.logs_client_run_idx, '(client_id, run_id, executed_at, id)')
  const up = await migrator.migrateToLatest()
  t.equal(up.error, undefined)
  const again = await logIndexes(app.db)
  t.equal(again.logs_client_status_idx, "(client_id, status, executed_at, id) WHERE (status <> 'SUCCESS'::text)")
  t.equal(again.logs_client_message_trgm_idx, 'gin (client_id, message gin_trgm_ops)')
  t.equal(again.logs_client_executed_at_covering_idx, '(client_id, executed_at, id) INCLUDE (status, level, environment, workflow_id)')
  t.equal(again.logs_client_executed_at_idx, undefined)
})
