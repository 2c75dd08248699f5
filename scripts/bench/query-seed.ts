// Fills a migrated database with the query benchmark's two tenants, `perTenant`
// logs each (query-seed-rows.ts), as fast as it can while leaving the schema
// the service made: the secondary indexes of logs are dropped, the rows
// written by slices of SLICE_LOGS, and each index built again from the
// definition it had. On 400,000 logs, on the loaded development machine, that
// took 34 s (16 to write, 18 to build) against 44 s with the indexes kept up
// row by row, the trigram index costing most; a COPY of rows made in Node
// (with uuid's v7) took as long as INSERT … SELECT (20 s, the database's work
// dominating) and needs more code.
// Then the tenants' stored bytes and their logs per hour are counted as
// ingest counts them, and VACUUM ANALYZE gives the planner its statistics and
// index-only scans their visibility map, as autovacuum would have on a table
// written over 30 days.
import { sql, type Kysely } from 'kysely'
import type { Database } from '../../src/db/schema.ts'
import { connect } from '../../src/db/connect.ts'
import { findOrCreateClient } from '../../src/clients/store.ts'
import { createKey } from '../../src/keys/store.ts'
import { addStoredBytes } from '../../src/logs/stored-bytes.ts'
import { checkInterrupted } from './children.ts'
import { insertSlice } from './query-seed-rows.ts'
import { count } from './table.ts'

/** Logs per statement, both tenants together: small enough to show progress, large enough to cost little per statement. */
const SLICE_LOGS = 200_000

export interface QueryTenant {
  clientId: string
  /** A key with logs:read and logs:write. */
  apiKey: string
}

export interface Seeded {
  /** The tenant the benchmark queries; the other one shares the table. */
  tenant: QueryTenant
  /** The moment the logs end: they span the 30 days before it. */
  end: Date
  /** Ids of the tenant's logs, drawn at random. */
  ids: string[]
  seconds: number
}

/** Indexes of logs that back no constraint (the primary key stays while rows are written), with their definitions. */
async function secondaryIndexes (db: Kysely<Database>): Promise<Array<{ name: string, definition: string }>> {
  const { rows } = await sql<{ name: string, definition: string }>`
    select indexrelid::regclass::text as name, pg_get_indexdef(indexrelid) as definition
    from pg_index
    where indrelid = 'logs'::regclass
      and not exists (select 1 from pg_constraint where conindid = pg_index.indexrelid)
    order by 1`.execute(db)
  return rows
}

async function timed (work: () => Promise<unknown>): Promise<string> {
  const started = performance.now()
  await work()
  return `${((performance.now() - started) / 1000).toFixed(1)} s`
}

export async function seedQueryTenants (databaseUrl: string, perTenant: number, sampledIds: number,
  progress: (text: string) => void): Promise<Seeded> {
  const started = performance.now()
  const end = new Date()
  const pool = connect(databaseUrl, { poolMax: 1 })
  try {
    const tenants = await Promise.all(['query-a', 'query-b'].map(async (name) => {
      const { client } = await findOrCreateClient(pool, name)
      const { apiKey, info } = await createKey(pool, { clientId: client.id, scopes: ['logs:read', 'logs:write'] })
      return { clientId: client.id, apiKey, keyId: info.id }
    }))
    const [a, b] = tenants as [typeof tenants[number], typeof tenants[number]]
    // One session throughout, for its maintenance_work_mem: each index is sorted in memory rather than on disk.
    await pool.connection().execute(async (db) => {
      await sql`set maintenance_work_mem = '512MB'`.execute(db)
      const indexes = await secondaryIndexes(db)
      for (const { name } of indexes) await sql`drop index ${sql.id(name)}`.execute(db)
      const perSlice = Math.max(1, Math.floor(SLICE_LOGS / 2))
      for (let first = 1; first <= perTenant; first += perSlice) {
        checkInterrupted()
        const last = Math.min(perTenant, first + perSlice - 1)
        const took = await timed(async () => await insertSlice({
          clientIds: [a.clientId, b.clientId], keyIds: [a.keyId, b.keyId], perTenant, end, first, last
        }).execute(db))
        progress(`  ${count(2 * last)} of ${count(2 * perTenant)} logs written (${took})`)
      }
      for (const { name, definition } of indexes) {
        checkInterrupted()
        progress(`  ${name} built (${await timed(async () => await sql.raw(definition).execute(db))})`)
      }
      const rebuilt = await secondaryIndexes(db)
      if (JSON.stringify(rebuilt) !== JSON.stringify(indexes)) throw new Error('the indexes of logs differ from the ones the service made')
      // The service counts each log it writes into its hour (group-insert.ts); logs written here are counted at once.
      progress(`  hour counts (${await timed(async () => await sql`
        insert into log_hour_counts (client_id, hour, status, level, environment, logs)
        select client_id, date_bin('1 hour', executed_at, timestamptz '2000-01-01 00:00:00+00'), status, level, environment, count(*)
        from logs group by 1, 2, 3, 4, 5`.execute(db))})`)
      const { rows } = await sql<{ client_id: string, bytes: number }>`
        select client_id, sum(size_bytes)::bigint as bytes from logs group by client_id`.execute(db)
      await addStoredBytes(db, new Map(rows.map((row) => [row.client_id, row.bytes])))
      progress(`  VACUUM ANALYZE logs (${await timed(async () => await sql`vacuum analyze logs`.execute(db))})`)
    })
    const seconds = (performance.now() - started) / 1000
    progress(`${count(2 * perTenant)} logs seeded in ${seconds.toFixed(0)} s`)
    const sample = await sql<{ id: string }>`
      select id from logs where client_id = ${a.clientId} order by random() limit ${sampledIds}`.execute(pool)
    return { tenant: { clientId: a.clientId, apiKey: a.apiKey }, end, ids: sample.rows.map((row) => row.id), seconds }
  } finally {
    await pool.destroy()
  }
}
