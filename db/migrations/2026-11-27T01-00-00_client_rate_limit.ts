// A client's own request rate limit (null: the service's RATE_LIMIT_MAX). It
// travels with each resolved key, so a change is announced like a key change:
// every instance drops the client's keys from its cache.
import { sql, type Kysely } from 'kysely'

export async function up (db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('clients')
    .addColumn('rate_limit', 'integer', (col) => col.check(sql`rate_limit > 0`))
    .execute()
  await sql`
    CREATE FUNCTION clients_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM pg_notify('central_logger_key_changes', 'client:' || OLD.id::text);
      RETURN NULL;
    END $$`.execute(db)
  await sql`
    CREATE TRIGGER clients_changed AFTER UPDATE ON clients
    FOR EACH ROW WHEN (OLD.rate_limit IS DISTINCT FROM NEW.rate_limit OR OLD.name IS DISTINCT FROM NEW.name)
    EXECUTE FUNCTION clients_notify_change()`.execute(db)
}

export async function down (db: Kysely<any>): Promise<void> {
  await sql`DROP TRIGGER clients_changed ON clients`.execute(db)
  await sql`DROP FUNCTION clients_notify_change()`.execute(db)
  await db.schema.alterTable('clients').dropColumn('rate_limit').execute()
}
