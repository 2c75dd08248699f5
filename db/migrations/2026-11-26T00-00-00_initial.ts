// The first schema: clients (tenants), their API keys, their logs, and the
// service's own secrets. `client_id` leads every key and index of tenant data
// so the logs table can later be distributed by tenant.
import { sql, type Kysely } from 'kysely'

export async function up (db: Kysely<any>): Promise<void> {
  await db.schema.createTable('clients')
    .addColumn('id', 'uuid', (col) => col.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('name', 'text', (col) => col.notNull().unique())
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .execute()

  // The key table is the directory that maps a key to its tenant, so it is
  // looked up by hash before any tenant is known: key_hash is unique on its
  // own. Everything else is keyed by client first.
  await db.schema.createTable('api_keys')
    .addColumn('client_id', 'uuid', (col) => col.notNull().references('clients.id').onDelete('cascade'))
    .addColumn('id', 'uuid', (col) => col.notNull().defaultTo(sql`gen_random_uuid()`))
    .addColumn('name', 'text')
    .addColumn('prefix', 'text', (col) => col.notNull())
    .addColumn('key_hash', 'bytea', (col) => col.notNull())
    .addColumn('scopes', sql`text[]`, (col) => col.notNull())
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('expires_at', 'timestamptz')
    .addColumn('revoked_at', 'timestamptz')
    .addColumn('last_used_at', 'timestamptz')
    .addPrimaryKeyConstraint('api_keys_pkey', ['client_id', 'id'])
    .addUniqueConstraint('api_keys_key_hash_key', ['key_hash'])
    .execute()
  // The CLI addresses a key by its id alone.
  await db.schema.createIndex('api_keys_id_idx').on('api_keys').column('id').execute()

  await db.schema.createTable('logs')
    .addColumn('client_id', 'uuid', (col) => col.notNull().references('clients.id').onDelete('cascade'))
    .addColumn('id', 'uuid', (col) => col.notNull())
    .addColumn('event_id', 'text')
    .addColumn('environment', 'text', (col) => col.notNull())
    .addColumn('executed_at', 'timestamptz', (col) => col.notNull())
    .addColumn('status', 'text', (col) => col.notNull())
    .addColumn('level', 'text', (col) => col.notNull())
    .addColumn('message', 'text')
    .addColumn('workflow_id', 'text')
    .addColumn('workflow_name', 'text')
    .addColumn('run_id', 'text')
    .addColumn('step', 'text')
    .addColumn('duration_ms', 'double precision')
    .addColumn('trace_id', 'text')
    .addColumn('attributes', 'jsonb')
    .addColumn('key_id', 'uuid', (col) => col.notNull())
    .addColumn('received_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('logs_pkey', ['client_id', 'id'])
    .execute()

  // Idempotency: one row per (client, event_id). Partial, so entries without
  // an event_id never conflict.
  await sql`CREATE UNIQUE INDEX logs_client_event_id_key ON logs (client_id, event_id) WHERE event_id IS NOT NULL`.execute(db)
  // The listing order and its keyset cursor, in both directions, and the
  // equality filters that narrow a tenant's logs most.
  await sql`CREATE INDEX logs_client_executed_at_idx ON logs (client_id, executed_at, id)`.execute(db)
  await sql`CREATE INDEX logs_client_workflow_idx ON logs (client_id, workflow_id, executed_at, id)`.execute(db)
  await sql`CREATE INDEX logs_client_run_idx ON logs (client_id, run_id, executed_at, id)`.execute(db)
  await sql`CREATE INDEX logs_client_status_idx ON logs (client_id, status, executed_at, id)`.execute(db)

  // Secrets the service generates for itself (the cursor signing key), shared
  // by every instance on the same database and kept across restarts.
  await db.schema.createTable('service_secrets')
    .addColumn('name', 'text', (col) => col.primaryKey())
    .addColumn('secret', 'bytea', (col) => col.notNull())
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .execute()
}

export async function down (db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('service_secrets').execute()
  await db.schema.dropTable('logs').execute()
  await db.schema.dropTable('api_keys').execute()
  await db.schema.dropTable('clients').execute()
}
