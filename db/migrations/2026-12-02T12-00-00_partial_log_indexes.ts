// Every index of logs is paid for by every row written (README, "Indexes and
// partitioning"). Three of them now leave out the rows their filter can never
// ask for: a workflow or run index has no use for a log without a workflow_id
// or run_id, and the status index none for SUCCESS, the status most logs carry
// and the one least looked for (a filter on it reads the executed_at index).
// The idempotency index, the listing index and the primary key are unchanged.
import { sql, type Kysely } from 'kysely'

export async function up (db: Kysely<any>): Promise<void> {
  await sql`DROP INDEX logs_client_workflow_idx`.execute(db)
  await sql`DROP INDEX logs_client_run_idx`.execute(db)
  await sql`DROP INDEX logs_client_status_idx`.execute(db)
  await sql`CREATE INDEX logs_client_workflow_idx ON logs (client_id, workflow_id, executed_at, id) WHERE workflow_id IS NOT NULL`.execute(db)
  await sql`CREATE INDEX logs_client_run_idx ON logs (client_id, run_id, executed_at, id) WHERE run_id IS NOT NULL`.execute(db)
  await sql`CREATE INDEX logs_client_status_idx ON logs (client_id, status, executed_at, id) WHERE status <> 'SUCCESS'`.execute(db)
}

export async function down (db: Kysely<any>): Promise<void> {
  await sql`DROP INDEX logs_client_workflow_idx`.execute(db)
  await sql`DROP INDEX logs_client_run_idx`.execute(db)
  await sql`DROP INDEX logs_client_status_idx`.execute(db)
  await sql`CREATE INDEX logs_client_workflow_idx ON logs (client_id, workflow_id, executed_at, id)`.execute(db)
  await sql`CREATE INDEX logs_client_run_idx ON logs (client_id, run_id, executed_at, id)`.execute(db)
  await sql`CREATE INDEX logs_client_status_idx ON logs (client_id, status, executed_at, id)`.execute(db)
}
