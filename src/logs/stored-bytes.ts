// A client's stored bytes: the counted size (entry-size.ts) of its logs, read
// to enforce the storage quota and for usage reports, never by a scan of the
// logs. Like the usage counters, what each instance stores is added up in
// memory and written every few seconds (usage/recorder.ts), so that no
// ingest transaction waits on a counter row; the quota is checked against
// what is written plus what this instance has not written yet.
//
// Each client's total is split over shards, picked by the database session
// (its backend pid): instances flushing at once update different rows rather
// than wait on one row lock. The total is the sum of its shards; a shard alone
// means nothing.
//
// Deleting logs (retention, when it comes) takes their bytes off the same way:
// `delete from logs … returning log_counted_bytes(logs)`, summed per client,
// then addStoredBytes with the negative sums, in the same transaction.
// log_counted_bytes (a database function) is a log's size_bytes, or for a log
// stored before those were kept, the size its client was counted for then.
import { sql } from 'kysely'
import type { Db } from '../db/in-transaction.ts'

export const STORAGE_SHARDS = 64

/** Adds bytes (negative to take some off) to clients' stored bytes; a client deleted meanwhile is skipped. */
export async function addStoredBytes (db: Db, added: ReadonlyMap<string, number>): Promise<void> {
  if (added.size === 0) return
  const clients = [...added.keys()]
  await sql`
    insert into client_storage (client_id, shard, stored_bytes)
    select added.client_id, pg_backend_pid() % ${sql.lit(STORAGE_SHARDS)}, added.bytes
    from unnest(${clients}::uuid[], ${clients.map((id) => added.get(id)!)}::bigint[]) as added (client_id, bytes)
    where exists (select 1 from clients where clients.id = added.client_id)
    on conflict (client_id, shard) do update set stored_bytes = client_storage.stored_bytes + excluded.stored_bytes`.execute(db)
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
