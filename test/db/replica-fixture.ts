// A second database that stands for a replica of a test's database: fed by the
// test, as much as it chooses (so that it lags), and read-only by default
// afterwards, so that a write the service sent it would fail.
import { URL } from 'node:url'
import { connect } from '../../src/db/connect.ts'
import { migrateToLatest } from '../../src/db/migrate.ts'
import { onDatabase } from '../../scripts/lib/server-databases.ts'

/** The tables a replica gets, parents before children. */
const TABLES = ['clients', 'api_keys', 'logs', 'log_hour_counts', 'usage_daily', 'client_storage'] as const

export interface FeedOptions {
  /** Only the logs of these ids (all when absent): the replica lags behind the rest. */
  logIds?: readonly string[]
}

/** Makes the replica hold the primary's rows now (of logs, those asked for), and leaves it read-only by default. */
export async function feedReplica (primaryUrl: string, replicaUrl: string, options: FeedOptions = {}): Promise<void> {
  const rows = await onDatabase(primaryUrl, async (primary) => {
    const taken: Array<{ table: string, json: string }> = []
    for (const table of TABLES) {
      const only = table === 'logs' && options.logIds !== undefined ? 'where id = any($1::uuid[])' : ''
      const { rows } = await primary.query<{ json: string | null }>(
        `select json_agg(t)::text as json from ${table} t ${only}`, only === '' ? [] : [options.logIds])
      taken.push({ table, json: rows[0]?.json ?? '[]' })
    }
    return taken
  })
  // The primary's schema (a test database outside `npm test` starts empty).
  const db = connect(replicaUrl, { poolMax: 1 })
  try {
    await migrateToLatest(db)
  } finally {
    await db.destroy()
  }
  await onDatabase(replicaUrl, async (replica) => {
    await replica.query('begin read write')
    // As a replica receives rows: no trigger of the service's schema fires, no foreign key is checked again.
    await replica.query('set local session_replication_role = replica')
    await replica.query(`truncate ${TABLES.join(', ')} cascade`)
    for (const { table, json } of rows) {
      await replica.query(`insert into ${table} select * from json_populate_recordset(null::${table}, $1::json)`, [json])
    }
    await replica.query('commit')
    await replica.query(`alter database ${databaseName(replicaUrl)} set default_transaction_read_only = on`)
  })
}

/** Runs SQL on the replica in a read-write transaction, as the replication that feeds it would. */
export async function onReplica (replicaUrl: string, text: string, values: unknown[] = []): Promise<void> {
  await onDatabase(replicaUrl, async (replica) => {
    await replica.query('begin read write')
    await replica.query('set local session_replication_role = replica')
    await replica.query(text, values)
    await replica.query('commit')
  })
}

/** Rows in each table of the replica: what a write sent there would change. */
export async function replicaCounts (replicaUrl: string): Promise<Record<string, number>> {
  return await onDatabase(replicaUrl, async (replica) => {
    const counts: Record<string, number> = {}
    for (const table of [...TABLES, 'audit_events', 'request_nonces', 'auth_blocks', 'service_secrets']) {
      const { rows } = await replica.query<{ n: string }>(`select count(*) as n from ${table}`)
      counts[table] = Number(rows[0]?.n)
    }
    return counts
  })
}

function databaseName (url: string): string {
  const name = new URL(url).pathname.slice(1)
  if (!/^[a-z0-9_]+$/.test(name)) throw new Error(`not a plain database name: ${name}`)
  return name
}
