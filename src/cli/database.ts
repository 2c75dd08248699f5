// The CLI's database: DATABASE_URL, or the embedded PostgreSQL under DATA_DIR,
// shared with a running service or started just for the command.
import type { Kysely } from 'kysely'
import type { Config } from '../config.ts'
import { connect } from '../db/connect.ts'
import { openEmbeddedPostgres } from '../db/embedded.ts'
import { migrateToLatest } from '../db/migrate.ts'
import type { Database } from '../db/schema.ts'

export interface CliDatabase {
  db: Kysely<Database>
  /** Migrations this open applied (a database used for the first time gets all of them). */
  applied: string[]
  close: () => Promise<void>
}

export async function openCliDatabase (config: Config): Promise<CliDatabase> {
  let url = config.DATABASE_URL
  let stop = async (): Promise<void> => {}
  if (url === undefined) {
    const embedded = await openEmbeddedPostgres({
      dataDir: config.DATA_DIR,
      port: config.EMBEDDED_PG_PORT,
      onLog: config.LOG_LEVEL === 'debug' || config.LOG_LEVEL === 'trace' ? (line) => process.stderr.write(line) : undefined
    })
    url = embedded.url
    stop = embedded.stop
  }
  const db = connect(url, { poolMax: 2, connectTimeoutMs: config.DB_CONNECT_TIMEOUT_MS })
  const close = async (): Promise<void> => {
    await db.destroy()
    await stop()
  }
  try {
    // A CLI run before the first service start finds the tables in place.
    const results = await migrateToLatest(db)
    return { db, applied: results.map((result) => result.migrationName), close }
  } catch (error) {
    await close()
    throw error
  }
}
