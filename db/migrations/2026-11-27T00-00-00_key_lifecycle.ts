// The key lifecycle: rotation with a grace period, an address allowlist, the
// address of last use, an append-only audit trail, per-client daily usage
// counters, and a notification on every key change so that each running
// instance drops its cached copy of the key at once.
import { sql, type Kysely } from 'kysely'

export async function up (db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('api_keys')
    // Rotation: when, the key that replaced this one, and the end of its grace.
    // The grace never extends expires_at, which keeps its own meaning.
    .addColumn('rotated_at', 'timestamptz')
    .addColumn('replaced_by', 'uuid')
    .addColumn('grace_ends_at', 'timestamptz')
    // CIDR ranges a request must come from; null accepts any address.
    .addColumn('allowed_cidrs', sql`text[]`)
    .addColumn('last_used_address', 'text')
    .execute()

  // Any change to a key (revocation, rotation, allowlist), by the service, the
  // CLI or by hand in SQL, is announced after commit to every instance
  // listening, which evicts the key from its cache.
  await sql`
    CREATE FUNCTION api_keys_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM pg_notify('central_logger_key_changes', OLD.id::text);
      RETURN NULL;
    END $$`.execute(db)
  // last_used_at and last_used_address change on every flush and do not
  // affect whether a key is accepted, so they announce nothing.
  await sql`
    CREATE TRIGGER api_keys_changed AFTER UPDATE ON api_keys
    FOR EACH ROW
    WHEN (OLD.revoked_at IS DISTINCT FROM NEW.revoked_at
      OR OLD.expires_at IS DISTINCT FROM NEW.expires_at
      OR OLD.grace_ends_at IS DISTINCT FROM NEW.grace_ends_at
      OR OLD.allowed_cidrs IS DISTINCT FROM NEW.allowed_cidrs
      OR OLD.scopes IS DISTINCT FROM NEW.scopes
      OR OLD.key_hash IS DISTINCT FROM NEW.key_hash
      OR OLD.client_id IS DISTINCT FROM NEW.client_id)
    EXECUTE FUNCTION api_keys_notify_change()`.execute(db)
  await sql`
    CREATE TRIGGER api_keys_deleted AFTER DELETE ON api_keys
    FOR EACH ROW EXECUTE FUNCTION api_keys_notify_change()`.execute(db)

  // The audit trail: key events and authentication failures. No foreign key
  // to clients, so that the trail outlives what it describes; a failure with
  // a key nobody owns has no client. Never the key itself: its id or prefix.
  await db.schema.createTable('audit_events')
    .addColumn('id', 'bigserial', (col) => col.primaryKey())
    .addColumn('occurred_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('client_id', 'uuid')
    .addColumn('event', 'text', (col) => col.notNull())
    .addColumn('key_id', 'uuid')
    .addColumn('key_prefix', 'text')
    .addColumn('actor', 'text', (col) => col.notNull())
    .addColumn('address', 'text')
    .addColumn('reason', 'text')
    .addColumn('details', 'jsonb')
    .execute()
  await sql`CREATE INDEX audit_events_client_idx ON audit_events (client_id, id)`.execute(db)
  // Append-only: the table refuses updates, deletes and truncation, whoever asks.
  await sql`
    CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP;
    END $$`.execute(db)
  await sql`
    CREATE TRIGGER audit_events_no_change BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()`.execute(db)
  await sql`
    CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()`.execute(db)

  // Per client and UTC day, added to in batches by every instance.
  await db.schema.createTable('usage_daily')
    .addColumn('client_id', 'uuid', (col) => col.notNull().references('clients.id').onDelete('cascade'))
    .addColumn('day', 'date', (col) => col.notNull())
    .addColumn('requests', 'bigint', (col) => col.notNull().defaultTo(0))
    .addColumn('rejected_requests', 'bigint', (col) => col.notNull().defaultTo(0))
    .addColumn('rate_limited', 'bigint', (col) => col.notNull().defaultTo(0))
    .addColumn('logs_accepted', 'bigint', (col) => col.notNull().defaultTo(0))
    .addColumn('logs_duplicates', 'bigint', (col) => col.notNull().defaultTo(0))
    .addColumn('logs_rejected', 'bigint', (col) => col.notNull().defaultTo(0))
    .addPrimaryKeyConstraint('usage_daily_pkey', ['client_id', 'day'])
    .execute()
}

export async function down (db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('usage_daily').execute()
  await sql`DROP TABLE audit_events`.execute(db)
  await sql`DROP FUNCTION audit_events_append_only()`.execute(db)
  await sql`DROP TRIGGER api_keys_deleted ON api_keys`.execute(db)
  await sql`DROP TRIGGER api_keys_changed ON api_keys`.execute(db)
  await sql`DROP FUNCTION api_keys_notify_change()`.execute(db)
  await db.schema.alterTable('api_keys')
    .dropColumn('rotated_at').dropColumn('replaced_by').dropColumn('grace_ends_at')
    .dropColumn('allowed_cidrs').dropColumn('last_used_address')
    .execute()
}
