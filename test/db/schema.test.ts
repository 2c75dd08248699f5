// The schema's invariants: the keys that make tenant rows unique, and the
// indexes of logs.
import { sql, FileMigrationProvider, Migrator, type Kysely } from 'kysely'
import t from 'tap'
import { connect } from '../../src/db/connect.ts'
import { migrateToLatest } from '../../src/db/migrate.ts'
import { testDatabaseUrl, buildTestApp, callApi, issueKey } from '../helper.ts'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Database } from '../../src/db/schema.ts'

// Every key that makes a row unique in tenant data starts with client_id: the
// condition for distributing the schema by client (docs/scaling.md), where a
// primary key or unique constraint must hold the distribution column, and the
// reason a tenant's rows sit together in every index. Read from pg_catalog on
// a migrated database, so that a new table or index is held to it too; the
// tables that are not per tenant are listed, each with why.
/** Tables that are not one tenant's rows, and how they are kept apart from the rest (docs/scaling.md). */
const NOT_PER_TENANT: Record<string, string> = {
  clients: 'the tenants themselves: a row per client, its name unique among all; a reference table',
  service_secrets: 'the service\'s own secrets (the cursor key), shared by every instance; a reference table',
  auth_blocks: 'addresses the failed-authentication throttle blocks, before any client is known; a reference table',
  audit_events: 'the provider\'s trail, with failures that belong to no client (client_id null); a local table of the coordinator',
  kysely_migration: 'the migrator\'s record of what ran; a local table of the coordinator',
  kysely_migration_lock: 'the migrator\'s lock; a local table of the coordinator'
}

/** Unique keys of tenant tables that do not start with client_id, each with why. */
const UNIQUE_WITHOUT_CLIENT: Record<string, string> = {
  // A key is looked up by its hash before its client is known (authentication), and no two clients may hold the same key.
  api_keys_key_hash_key: 'the key directory: looked up by hash before the client is known; api_keys is a reference table for it'
}

interface UniqueKey { table: string, index: string, columns: string[], constraint: boolean }

void t.test('every unique key of tenant data starts with client_id', async (t) => {
  const db = connect(await testDatabaseUrl(t), { poolMax: 1 })
  t.teardown(async () => { await db.destroy() })
  await migrateToLatest(db)

  const tables = (await sql<{ table: string, client_id: boolean, not_null: boolean, partitioned: boolean }>`
    select c.relname as table, a.attname is not null as client_id, coalesce(a.attnotnull, false) as not_null, c.relkind = 'p' as partitioned
    from pg_class c
    join pg_namespace n on n.oid = c.relnamespace
    left join pg_attribute a on a.attrelid = c.oid and a.attname = 'client_id' and not a.attisdropped
    where n.nspname = 'public' and c.relkind in ('r', 'p') and not c.relispartition
    order by c.relname`.execute(db)).rows
  // Primary keys, unique constraints and unique indexes (partial ones included), each key's columns in order.
  const keys = (await sql<UniqueKey>`
    select t.relname as table, i.relname as index, array_agg(a.attname::text order by k.ord) as columns,
      exists (select 1 from pg_constraint con where con.conindid = i.oid and con.contype in ('p', 'u')) as constraint
    from pg_index x
    join pg_class i on i.oid = x.indexrelid
    join pg_class t on t.oid = x.indrelid
    join pg_namespace n on n.oid = t.relnamespace
    cross join lateral unnest(x.indkey) with ordinality as k(attnum, ord)
    left join pg_attribute a on a.attrelid = t.oid and a.attnum = k.attnum
    where n.nspname = 'public' and x.indisunique
    group by t.relname, i.relname, i.oid
    order by t.relname, i.relname`.execute(db)).rows

  t.ok(tables.length >= 10, 'the migrated schema is read')
  t.notOk(tables.some((table) => table.partitioned), 'no table is partitioned yet (docs/scaling.md says how logs would be)')
  const tenantTables = tables.filter((table) => !(table.table in NOT_PER_TENANT))
  for (const table of tenantTables) {
    t.ok(table.client_id && table.not_null, `${table.table}: a tenant table, with client_id not null (or listed as not per tenant, with why)`)
    const unique = keys.filter((key) => key.table === table.table)
    t.ok(unique.length > 0, `${table.table}: has a primary key`)
    for (const key of unique) {
      if (key.index in UNIQUE_WITHOUT_CLIENT) continue
      t.equal(key.columns[0], 'client_id', `${table.table}.${key.index} (${key.columns.join(', ')}) starts with client_id`)
    }
  }
  for (const name of Object.keys(NOT_PER_TENANT)) {
    t.ok(tables.some((table) => table.table === name), `${name}, listed as not per tenant, exists`)
  }
  for (const index of Object.keys(UNIQUE_WITHOUT_CLIENT)) {
    t.ok(keys.some((key) => key.index === index), `${index}, listed as an exception, exists`)
  }
  t.same(tenantTables.map((table) => table.table).sort(),
    ['api_keys', 'client_storage', 'log_hour_counts', 'logs', 'request_nonces', 'usage_daily',
      'webhook_deliveries', 'webhook_endpoints', 'webhook_events', 'webhook_notices'], 'the tenant tables')
})

// The indexes of logs: the set the query routes need and no more, each
// filter of the listing served by one, and a migration that can be undone.
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
