// The text-search index (a GIN index, see db/migrations/…_message_search_index)
// takes a written row's trigrams into an unsorted "pending list" and merges
// them into its tree later. PostgreSQL merges when the list passes
// gin_pending_list_limit (4 MB), inside whichever INSERT took it past: that
// statement, and every request of its write group, then waits tens of
// milliseconds. Merging on a timer instead, off the write path, keeps every
// INSERT an append; the work is the same, done in small steps on another
// connection while the writes go on. A short list also keeps `?q=` fast:
// every search reads the whole pending list.
import { sql, type Kysely } from 'kysely'
import type { Database } from '../db/schema.ts'

export const SEARCH_INDEX = 'logs_client_message_trgm_idx'

// One merge at a time across instances: the others skip their turn rather than queue behind it.
const MERGE_LOCK = sql`hashtext('central-logger search index merge')`

/**
 * Merges the search index's pending list into its tree. Resolves the pages
 * of the list that were merged, or undefined when another process was
 * merging (the lock lasts for the statement).
 */
export async function mergePendingEntries (db: Kysely<Database>): Promise<number | undefined> {
  const { rows: [result] } = await sql<{ merged: number | null }>`
    select case when pg_try_advisory_xact_lock(${MERGE_LOCK})
                then gin_clean_pending_list(${SEARCH_INDEX}::regclass) end as merged`.execute(db)
  return result?.merged ?? undefined
}
