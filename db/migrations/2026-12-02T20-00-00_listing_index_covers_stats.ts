// GET /api/v1/logs/stats counts a tenant's logs per time bucket and per
// status, level, environment or workflow_id. The listing's index on
// (client_id, executed_at, id) now carries those four columns too, so that
// the counts are read from the index alone instead of from every row of the
// range: 30 days of a million-log tenant by hour and status took 600 ms from
// the rows and under 200 ms from the index. Widening the index the listing
// already keeps costs each row written about 34 bytes of index; a second
// index would cost 75 and another descent (README, "Indexes and partitioning").
//
// IF NOT EXISTS lets an operator build the index beforehand with CREATE INDEX
// CONCURRENTLY under this name, so that a large table takes no write lock
// while it builds.
import { sql, type Kysely } from 'kysely'

export async function up (db: Kysely<any>): Promise<void> {
  await sql`CREATE INDEX IF NOT EXISTS logs_client_executed_at_covering_idx ON logs (client_id, executed_at, id)
    INCLUDE (status, level, environment, workflow_id)`.execute(db)
  await sql`DROP INDEX logs_client_executed_at_idx`.execute(db)
}

export async function down (db: Kysely<any>): Promise<void> {
  await sql`CREATE INDEX logs_client_executed_at_idx ON logs (client_id, executed_at, id)`.execute(db)
  await sql`DROP INDEX logs_client_executed_at_covering_idx`.execute(db)
}
