// Runs the migrations in db/migrations with Kysely's Migrator.
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { FileMigrationProvider, Migrator, sql, type Kysely, type MigrationResult } from 'kysely'
import { errorSummary } from './error-summary.ts'

// src/db -> db/migrations, and dist/src/db -> dist/db/migrations once compiled.
const MIGRATIONS = fileURLToPath(new URL('../../db/migrations', import.meta.url))

/** The oldest PostgreSQL the schema and queries need (date_bin, in the stats). */
export const MIN_POSTGRES_VERSION = 140000

export async function migrateToLatest<T> (db: Kysely<T>): Promise<MigrationResult[]> {
  const { rows: [server] } = await sql<{ version: number, text: string }>`
    select current_setting('server_version_num')::int as version, current_setting('server_version') as text`.execute(db)
  if (server !== undefined && server.version < MIN_POSTGRES_VERSION) {
    throw new Error(`PostgreSQL ${server.text} is too old: central-logger needs PostgreSQL 14 or newer.`)
  }
  const migrator = new Migrator({
    db,
    provider: new FileMigrationProvider({ fs, path, migrationFolder: MIGRATIONS })
  })
  const { error, results = [] } = await migrator.migrateToLatest()
  if (error !== undefined) {
    const failed = results.find((result) => result.status === 'Error')
    const cause = error instanceof Error ? error : new Error(String(error))
    // Before any migration ran (taking the lock, reading which ran already) no migration is to blame.
    const what = failed === undefined ? 'The migrations could not run' : `Migration ${failed.migrationName} failed`
    throw new Error(`${what}: ${errorSummary(cause).message}`, { cause })
  }
  return results
}
