// Byte limits per client: its own ingest bytes per minute and storage quota
// (null: the service's INGEST_BYTES_LIMIT and STORAGE_QUOTA_BYTES; a quota of
// 0: none), each log's counted size, and the bytes each client stores.
//
// The stored bytes are kept by the ingest transaction itself, in a table of
// their own: the clients row announces every change to every instance (its
// trigger), so a counter there would empty every key cache on each write.
// Each client's total is split over a few rows (shards), so that concurrent
// writes of one client do not wait for each other's commit on one row lock;
// the total is their sum, and a shard alone means nothing (one may go below
// zero once logs are deleted).
import { sql, type Kysely } from 'kysely'

export async function up (db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('clients')
    .addColumn('ingest_bytes_limit', 'bigint', (col) => col.check(sql`ingest_bytes_limit > 0`))
    .addColumn('storage_quota_bytes', 'bigint', (col) => col.check(sql`storage_quota_bytes >= 0`))
    .execute()

  // What a log counts for, fixed by the service when it is stored, so
  // that deleting it later takes off exactly what storing it added.
  await db.schema.alterTable('logs').addColumn('size_bytes', 'integer').execute()
  // A log's counted size, for those stored before size_bytes existed too:
  // the same measure (the UTF-8 bytes of each text column and of the
  // attributes' JSON), except that their JSON is PostgreSQL's text form of
  // the jsonb, a few bytes longer. What deletes logs subtracts this sum.
  await sql`
    CREATE FUNCTION log_counted_bytes(log logs) RETURNS bigint LANGUAGE sql STABLE AS $$
      SELECT coalesce(log.size_bytes,
        octet_length(log.environment) + octet_length(log.status) + octet_length(log.level)
        + coalesce(octet_length(log.event_id), 0) + coalesce(octet_length(log.message), 0)
        + coalesce(octet_length(log.workflow_id), 0) + coalesce(octet_length(log.workflow_name), 0)
        + coalesce(octet_length(log.run_id), 0) + coalesce(octet_length(log.step), 0)
        + coalesce(octet_length(log.trace_id), 0) + coalesce(octet_length(log.attributes::text), 0))
    $$`.execute(db)

  await db.schema.createTable('client_storage')
    .addColumn('client_id', 'uuid', (col) => col.notNull().references('clients.id').onDelete('cascade'))
    .addColumn('shard', 'smallint', (col) => col.notNull())
    .addColumn('stored_bytes', 'bigint', (col) => col.notNull().defaultTo(0))
    .addPrimaryKeyConstraint('client_storage_pkey', ['client_id', 'shard'])
    .execute()
  // The logs already stored.
  await sql`
    INSERT INTO client_storage (client_id, shard, stored_bytes)
    SELECT client_id, 0, sum(log_counted_bytes(logs)) FROM logs GROUP BY client_id`.execute(db)
}

export async function down (db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('client_storage').execute()
  await sql`DROP FUNCTION log_counted_bytes(logs)`.execute(db)
  await db.schema.alterTable('logs').dropColumn('size_bytes').execute()
  await db.schema.alterTable('clients').dropColumn('storage_quota_bytes').dropColumn('ingest_bytes_limit').execute()
}
