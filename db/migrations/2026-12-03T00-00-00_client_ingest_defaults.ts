// A client's defaults for the two required fields shippers rarely send
// (POST /v1/logs): the environment and status a log gets when its record says
// none, set by the provider (`keys create --environment --status`); null:
// the service's fallbacks, `default` and `UNKNOWN`. The status is kept
// upper-cased, as logs store it.
import { sql, type Kysely } from 'kysely'

export async function up (db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE clients
    ADD COLUMN default_environment text CHECK (char_length(default_environment) BETWEEN 1 AND 64),
    ADD COLUMN default_status text CHECK (char_length(default_status) BETWEEN 1 AND 32 AND default_status = upper(default_status))`.execute(db)
}

export async function down (db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE clients DROP COLUMN default_environment, DROP COLUMN default_status`.execute(db)
}
