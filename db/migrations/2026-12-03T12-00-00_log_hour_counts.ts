// GET /api/v1/logs/stats counted every log of its range: 30 days of a
// million-log tenant by hour were a million index entries read and hashed,
// 200–360 ms. log_hour_counts holds, per client and UTC hour, how many logs
// carry each (status, level, environment): a few rows an hour instead of
// every log, so whole hours of a range are summed from here and only its
// partial first and last hours are counted from logs (src/logs/tenant-stats.ts).
//
// Logs are added to it by the statement that writes them (the group insert,
// src/logs/group-insert.ts, the one writer of logs), in the same statement:
// a statement trigger on INSERT cost the write path about twice as much, for
// the copy of every inserted row it keeps. Deleting and updating logs is rare
// and in bulk (the retention purge, a client deleted, an operator's own SQL),
// and statement triggers keep the counts exact there, whoever does it.
//
// The rows of a statement are summed first and upserted in key order, so two
// writers take the counts' locks in the same order and cannot deadlock; a
// lock is held from the end of the statement to its commit.
//
// No foreign key to clients: a client deleted takes its logs with it, and the
// trigger then takes their counts to zero and removes them, whichever of the
// two the cascade reaches first.
import { sql, type Kysely } from 'kysely'

// date_bin from a UTC midnight: the same hour whatever the session's time zone.
const HOUR_OF = (column: string): string => `date_bin('1 hour', ${column}, timestamptz '2000-01-01 00:00:00+00')`

/** The upsert that adds `sign` times the transition table's logs to their hours. */
function addCounts (table: string, sign: '' | '-') {
  return sql.raw(`
    INSERT INTO log_hour_counts AS counts (client_id, hour, status, level, environment, logs)
    SELECT client_id, ${HOUR_OF('executed_at')}, status, level, environment, ${sign}count(*)
    FROM ${table}
    GROUP BY 1, 2, 3, 4, 5
    ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT (client_id, hour, status, level, environment) DO UPDATE SET logs = counts.logs + excluded.logs;`)
}

/** Removes the counts a deletion took to zero, in the hours of the transition table's logs. */
function dropEmptyCounts (table: string) {
  return sql.raw(`
    DELETE FROM log_hour_counts AS counts
    USING (SELECT DISTINCT client_id, ${HOUR_OF('executed_at')} AS hour FROM ${table}) AS touched
    WHERE counts.client_id = touched.client_id AND counts.hour = touched.hour AND counts.logs = 0;`)
}

export async function up (db: Kysely<any>): Promise<void> {
  await sql`CREATE TABLE log_hour_counts (
    client_id uuid NOT NULL,
    hour timestamptz NOT NULL,
    status text NOT NULL,
    level text NOT NULL,
    environment text NOT NULL,
    logs bigint NOT NULL,
    PRIMARY KEY (client_id, hour, status, level, environment)
  )`.execute(db)

  await sql`CREATE FUNCTION log_hour_counts_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      ${addCounts('old_logs', '-')}
      ${dropEmptyCounts('old_logs')}
      RETURN NULL;
    END $$`.execute(db)
  await sql`CREATE FUNCTION log_hour_counts_updated() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      ${addCounts('old_logs', '-')}
      ${addCounts('new_logs', '')}
      ${dropEmptyCounts('old_logs')}
      RETURN NULL;
    END $$`.execute(db)

  // Locks logs against writes until this migration commits, so the counts below miss no log.
  await sql`LOCK TABLE logs IN SHARE MODE`.execute(db)
  await sql`CREATE TRIGGER logs_hour_counts_deleted AFTER DELETE ON logs
    REFERENCING OLD TABLE AS old_logs FOR EACH STATEMENT EXECUTE FUNCTION log_hour_counts_deleted()`.execute(db)
  await sql`CREATE TRIGGER logs_hour_counts_updated AFTER UPDATE ON logs
    REFERENCING OLD TABLE AS old_logs NEW TABLE AS new_logs FOR EACH STATEMENT EXECUTE FUNCTION log_hour_counts_updated()`.execute(db)

  await sql`INSERT INTO log_hour_counts (client_id, hour, status, level, environment, logs)
    SELECT client_id, ${sql.raw(HOUR_OF('executed_at'))}, status, level, environment, count(*)
    FROM logs GROUP BY 1, 2, 3, 4, 5`.execute(db)
}

export async function down (db: Kysely<any>): Promise<void> {
  await sql`DROP TRIGGER logs_hour_counts_updated ON logs`.execute(db)
  await sql`DROP TRIGGER logs_hour_counts_deleted ON logs`.execute(db)
  await sql`DROP FUNCTION log_hour_counts_updated(), log_hour_counts_deleted()`.execute(db)
  await sql`DROP TABLE log_hour_counts`.execute(db)
}
