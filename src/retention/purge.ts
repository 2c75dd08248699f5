// Retention: each client's logs whose executed_at is older than its retention
// (its own, or RETENTION_DAYS) are deleted, a batch at a time. Each batch is
// one short transaction, found through the (client_id, executed_at, id) index
// in time order and taken off the client's stored bytes in the same
// transaction; no lock is held between batches, so ingest and queries go on.
// Why DELETE and not dropping time partitions: README, "Retention".
//
// Provider-wide by nature (every client's expired logs), yet each statement
// names one client: the rows of another are never touched.
import { sql, type Kysely } from 'kysely'
import type { Database } from '../db/schema.ts'
import { addStoredBytes } from '../logs/stored-bytes.ts'

export interface PurgeOptions {
  /** RETENTION_DAYS: a client without its own keeps logs this many days. */
  defaultDays: number
  /** Logs deleted per transaction. */
  batchRows: number
  /** The moment retention is measured from (tests pass their own). */
  now?: Date
  /** Stop between batches when this aborts (the service is stopping). */
  signal?: AbortSignal
}

export interface PurgeResult {
  /** Logs deleted, and their counted bytes, per client that had any. */
  clients: Array<{ clientId: string, name: string, deleted: number, bytes: number, before: Date }>
  deleted: number
}

// One advisory lock for retention: instances and `npm run purge` take turns instead of deleting the same rows at once.
const PURGE_LOCK = sql`hashtext('central-logger retention')`

const DAY_MS = 86_400_000

/**
 * Deletes every client's expired logs. Resolves undefined, deleting nothing,
 * when another process is purging now.
 */
export async function purgeExpired (db: Kysely<Database>, options: PurgeOptions): Promise<PurgeResult | undefined> {
  // A session lock, on one connection that also runs the batches: a purge takes one connection of the pool, never two.
  return await db.connection().execute(async (lockHolder) => {
    const { rows: [lock] } = await sql<{ taken: boolean }>`select pg_try_advisory_lock(${PURGE_LOCK}) as taken`.execute(lockHolder)
    if (lock?.taken !== true) return undefined
    try {
      return await purgeEveryClient(lockHolder, options)
    } finally {
      await sql`select pg_advisory_unlock(${PURGE_LOCK})`.execute(lockHolder)
    }
  })
}

async function purgeEveryClient (db: Kysely<Database>, options: PurgeOptions): Promise<PurgeResult> {
  const now = (options.now ?? new Date()).getTime()
  const clients = await db.selectFrom('clients').select(['id', 'name', 'retention_days']).orderBy('name').execute()
  const result: PurgeResult = { clients: [], deleted: 0 }
  for (const client of clients) {
    const before = new Date(now - (client.retention_days ?? options.defaultDays) * DAY_MS)
    let deleted = 0
    let bytes = 0
    for (;;) {
      if (options.signal?.aborted === true) break
      const batch = await deleteBatch(db, client.id, before, options.batchRows)
      deleted += batch.deleted
      bytes += batch.bytes
      if (batch.deleted < options.batchRows) break
    }
    if (deleted > 0) result.clients.push({ clientId: client.id, name: client.name, deleted, bytes, before })
    result.deleted += deleted
    if (options.signal?.aborted === true) break
  }
  return result
}

/** Deletes up to `limit` of the client's logs older than `before`, oldest first, and takes their bytes off its stored bytes. */
async function deleteBatch (db: Kysely<Database>, clientId: string, before: Date, limit: number): Promise<{ deleted: number, bytes: number }> {
  return await db.transaction().execute(async (trx) => {
    const { rows: [row] } = await sql<{ deleted: number, bytes: number }>`
      with doomed as (
        select id from logs
        where client_id = ${clientId} and executed_at < ${before}
        order by executed_at, id
        limit ${limit}
      ), deleted as (
        delete from logs using doomed
        where logs.client_id = ${clientId} and logs.id = doomed.id
        returning log_counted_bytes(logs) as bytes
      )
      select count(*)::int as deleted, coalesce(sum(bytes), 0)::bigint as bytes from deleted`.execute(trx)
    const deleted = row?.deleted ?? 0
    const bytes = Number(row?.bytes ?? 0)
    if (bytes > 0) await addStoredBytes(trx, new Map([[clientId, -bytes]]))
    return { deleted, bytes }
  })
}
