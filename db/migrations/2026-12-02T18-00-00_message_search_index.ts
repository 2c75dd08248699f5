// `?q=` finds a case-insensitive substring of message. Without an index every
// message of the tenant is read; a trigram GIN index (pg_trgm) answers ILIKE
// from the index instead, and btree_gin lets the same index hold client_id,
// so that one tenant's search never visits another's rows. Why trigrams and
// not a tsvector, and what the index costs per row written: README, "Text
// search".
//
// Both extensions are trusted (PostgreSQL 13+): the database's owner, or any
// role with CREATE on it, may create them. IF NOT EXISTS lets an operator
// build the index beforehand with CREATE INDEX CONCURRENTLY under this name,
// so that a large table takes no write lock while it builds.
import { sql, type Kysely } from 'kysely'

export async function up (db: Kysely<any>): Promise<void> {
  await sql`CREATE EXTENSION IF NOT EXISTS pg_trgm`.execute(db)
  await sql`CREATE EXTENSION IF NOT EXISTS btree_gin`.execute(db)
  await sql`CREATE INDEX IF NOT EXISTS logs_client_message_trgm_idx ON logs USING gin (client_id, message gin_trgm_ops)`.execute(db)
}

export async function down (db: Kysely<any>): Promise<void> {
  // The extensions stay: other schemas of the database may use them.
  await sql`DROP INDEX logs_client_message_trgm_idx`.execute(db)
}
