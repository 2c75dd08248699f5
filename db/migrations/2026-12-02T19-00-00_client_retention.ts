// A client's own retention, in days, set by the provider (`keys retention`);
// null: the service's RETENTION_DAYS. Its logs are deleted once their
// executed_at is older than that (src/retention/).
import { sql, type Kysely } from 'kysely'

export async function up (db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE clients ADD COLUMN retention_days integer CHECK (retention_days BETWEEN 1 AND 36500)`.execute(db)
}

export async function down (db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE clients DROP COLUMN retention_days`.execute(db)
}
