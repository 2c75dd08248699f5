// Every key that makes a row unique in tenant data starts with client_id: the
// condition for distributing the schema by client (docs/scaling.md), where a
// primary key or unique constraint must hold the distribution column, and the
// reason a tenant's rows sit together in every index. Read from pg_catalog on
// a migrated database, so that a new table or index is held to it too; the
// tables that are not per tenant are listed, each with why.
import { sql } from 'kysely'
import t from 'tap'
import { connect } from '../../src/db/connect.ts'
import { migrateToLatest } from '../../src/db/migrate.ts'
import { testDatabaseUrl } from '../helper.ts'

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
    ['api_keys', 'client_storage', 'log_hour_counts', 'logs', 'request_nonces', 'usage_daily'], 'the tenant tables')
})
