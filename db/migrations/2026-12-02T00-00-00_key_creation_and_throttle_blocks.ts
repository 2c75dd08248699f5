// Two things every instance must hear of: a key created anywhere (its hash
// goes into each instance's key directory, so that a real key is told from a
// made-up one without a lookup), and the addresses the failed-authentication
// throttle is blocking, kept where the provider's CLI can list and clear them.
import { sql, type Kysely } from 'kysely'

export async function up (db: Kysely<any>): Promise<void> {
  await sql`
    CREATE FUNCTION api_keys_notify_creation() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM pg_notify('central_logger_key_changes', 'new:' || encode(NEW.key_hash, 'hex'));
      RETURN NULL;
    END $$`.execute(db)
  await sql`
    CREATE TRIGGER api_keys_created AFTER INSERT ON api_keys
    FOR EACH ROW EXECUTE FUNCTION api_keys_notify_creation()`.execute(db)

  // One row per blocked address group (an IPv4 address, or an IPv6 /64), as
  // the instances that blocked it report it; the block itself lives in each
  // instance's memory.
  await db.schema.createTable('auth_blocks')
    .addColumn('address', 'text', (col) => col.primaryKey())
    .addColumn('blocked_at', 'timestamptz', (col) => col.notNull())
    .addColumn('blocked_until', 'timestamptz', (col) => col.notNull())
    .execute()
  await db.schema.createIndex('auth_blocks_until_idx').on('auth_blocks').column('blocked_until').execute()
}

export async function down (db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('auth_blocks').execute()
  await sql`DROP TRIGGER api_keys_created ON api_keys`.execute(db)
  await sql`DROP FUNCTION api_keys_notify_creation()`.execute(db)
}
