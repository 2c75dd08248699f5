// Where a database stands in the primary's write-ahead log, so that a read
// continuing an earlier one (a page after a cursor, a tail's resume) runs on
// the replica only when the replica holds everything the earlier read saw.
// A position is an LSN as PostgreSQL writes it (`16/B374D848`). A streaming
// replica replays the primary's log in order, and a transaction is visible
// there once its commit record is replayed; so a replica whose replay
// position is at or past the one an earlier read was given sees every row
// that read saw, and a page after it skips none. Any other kind of database
// (a logical replica, a copy) has no position in the primary's log: it is
// never taken to hold what another read saw.
import { sql, type Kysely } from 'kysely'
import type { Database } from './schema.ts'

/**
 * The primary's position now: at or past the commit of every transaction a
 * statement that ended before this one could see (the insert position, not
 * the flushed one, so that asynchronous commits count too).
 */
export async function primaryPosition (db: Kysely<Database>): Promise<string> {
  const { rows } = await sql<{ lsn: string }>`select pg_current_wal_insert_lsn()::text as lsn`.execute(db)
  const lsn = rows[0]?.lsn
  if (lsn === undefined) throw new Error('pg_current_wal_insert_lsn() gave no row')
  return lsn
}

/**
 * How far a streaming replica has replayed, asked after a read on it: at or
 * past everything that read saw. Undefined for a database that replays no
 * log (not in recovery): its position means nothing on the primary.
 */
export async function replayedPosition (db: Kysely<Database>): Promise<string | undefined> {
  const { rows } = await sql<{ lsn: string | null }>`
    select case when pg_is_in_recovery() then pg_last_wal_replay_lsn()::text end as lsn`.execute(db)
  return rows[0]?.lsn ?? undefined
}

/** Whether this database is a streaming replica that has replayed the primary's log up to `position`. */
export async function hasReplayed (db: Kysely<Database>, position: string): Promise<boolean> {
  const { rows } = await sql<{ fresh: boolean }>`
    select coalesce(pg_is_in_recovery() and pg_last_wal_replay_lsn() >= ${position}::pg_lsn, false) as fresh`.execute(db)
  return rows[0]?.fresh === true
}
