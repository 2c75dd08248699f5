// A client's own ingest volume limit, its request-signing secret generation,
// the nonces of signed requests (when no Redis holds them), and a usage
// counter of refused authentications.
//
// The signing secret itself is never stored: it is derived from SIGNING_KEY
// and the client's id and generation (src/signing/secret.ts). Each secret
// issued takes the next generation, so none ever comes back; a client whose
// signing_generation is null does not sign.
import { sql, type Kysely } from 'kysely'

export async function up (db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('clients')
    // Log entries per minute; null: the service's INGEST_RATE_LIMIT.
    .addColumn('ingest_rate_limit', 'integer', (col) => col.check(sql`ingest_rate_limit > 0`))
    .addColumn('signing_secrets_issued', 'integer', (col) => col.notNull().defaultTo(0))
    .addColumn('signing_generation', 'integer', (col) => col.check(sql`signing_generation BETWEEN 1 AND signing_secrets_issued`))
    .execute()
  // Every setting of a client travels with its resolved keys, so any change
  // to the row is announced (the client's name, limits or signing).
  await sql`DROP TRIGGER clients_changed ON clients`.execute(db)
  await sql`
    CREATE TRIGGER clients_changed AFTER UPDATE ON clients
    FOR EACH ROW WHEN (OLD IS DISTINCT FROM NEW)
    EXECUTE FUNCTION clients_notify_change()`.execute(db)

  // A nonce is kept until the latest moment its request's timestamp is still
  // accepted; after that the timestamp alone refuses a replay.
  await db.schema.createTable('request_nonces')
    .addColumn('client_id', 'uuid', (col) => col.notNull().references('clients.id').onDelete('cascade'))
    .addColumn('nonce', 'text', (col) => col.notNull())
    .addColumn('expires_at', 'timestamptz', (col) => col.notNull())
    .addPrimaryKeyConstraint('request_nonces_pkey', ['client_id', 'nonce'])
    .execute()
  await db.schema.createIndex('request_nonces_expires_at').on('request_nonces').column('expires_at').execute()

  // Requests with a client's key refused before they were the client's (its
  // key's state, its address, its signature).
  await db.schema.alterTable('usage_daily')
    .addColumn('auth_failures', 'bigint', (col) => col.notNull().defaultTo(0))
    .execute()
}

export async function down (db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('usage_daily').dropColumn('auth_failures').execute()
  await db.schema.dropTable('request_nonces').execute()
  await sql`DROP TRIGGER clients_changed ON clients`.execute(db)
  await sql`
    CREATE TRIGGER clients_changed AFTER UPDATE ON clients
    FOR EACH ROW WHEN (OLD.rate_limit IS DISTINCT FROM NEW.rate_limit OR OLD.name IS DISTINCT FROM NEW.name)
    EXECUTE FUNCTION clients_notify_change()`.execute(db)
  await db.schema.alterTable('clients').dropColumn('signing_generation').dropColumn('signing_secrets_issued').dropColumn('ingest_rate_limit').execute()
}
