// A client's stored bytes: the counted size (entry-size.ts) of its logs, kept
// by the very statement that stores them (tenant-logs.ts), so it is exact, in
// the same transaction, and the same for every instance; read to enforce the
// storage quota and for usage reports, never by a scan of the logs.
//
// Each client's total is split over shards, picked by the database session
// (its backend pid): concurrent transactions of one client update different
// rows, rather than each waiting on one row lock for the other's commit. The
// total is the sum of its shards; a shard alone means nothing.
//
// Deleting logs (retention, when it comes) takes their bytes off the same way:
// `with gone as (delete from logs … returning log_counted_bytes(logs) as bytes)`
// then addStoredBytes(client, sql`(select -sum(bytes) from gone)`).
// log_counted_bytes (a database function) is a log's size_bytes, or for a log
// stored before those were kept, the size its client was counted for then.
import { sql, type RawBuilder } from 'kysely'
import type { Db } from '../db/in-transaction.ts'

export const STORAGE_SHARDS = 64

/**
 * The statement that adds `bytes`, an SQL expression (negative to take some
 * off; null adds nothing), to the client's stored bytes.
 */
export function addStoredBytes (client: { id: string }, bytes: RawBuilder<unknown>): RawBuilder<unknown> {
  return sql`
    insert into client_storage (client_id, shard, stored_bytes)
    select ${client.id}::uuid, pg_backend_pid() % ${sql.lit(STORAGE_SHARDS)}, added.bytes
    from (select ${bytes}::bigint as bytes) as added
    where added.bytes is not null
    on conflict (client_id, shard) do update set stored_bytes = client_storage.stored_bytes + excluded.stored_bytes`
}

/** The counted bytes of the client's stored logs. */
export async function storedBytesOf (db: Db, client: { id: string }): Promise<number> {
  const row = await db.selectFrom('client_storage')
    .select(sql<number>`coalesce(sum(stored_bytes), 0)::bigint`.as('bytes'))
    .where('client_id', '=', client.id)
    .executeTakeFirstOrThrow()
  return row.bytes
}

/** Every client's stored bytes, by client id, for the provider's reports (a client with none is absent). */
export async function storedBytesByClient (db: Db): Promise<Map<string, number>> {
  const rows = await db.selectFrom('client_storage')
    .select(['client_id', sql<number>`sum(stored_bytes)::bigint`.as('bytes')])
    .groupBy('client_id')
    .execute()
  return new Map(rows.map((row) => [row.client_id, row.bytes]))
}
