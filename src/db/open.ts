// Opens the service's database, for the service and the CLI alike:
// DATABASE_URL, or the embedded PostgreSQL under DATA_DIR (shared with
// another process already running it), migrated to the latest schema.
import type { Kysely } from 'kysely'
import type pg from 'pg'
import type { Config } from '../config.ts'
import { assertConnects } from './connect-check.ts'
import { connectWithPool } from './connect.ts'
import { migrateToLatest } from './migrate.ts'
import type { Database } from './schema.ts'

export interface OpenDatabase {
  db: Kysely<Database>
  /** The pool under `db`, for prepared statements (connectWithPool); closed with it. */
  pool: pg.Pool
  /** The connection string in use (the embedded server's, when embedded). */
  url: string
  /** Migrations this open applied. */
  applied: string[]
  /** Set when the embedded PostgreSQL is used; `owned` when this process started it. */
  embedded?: { owned: boolean }
  /** Closes the pool, and stops the embedded PostgreSQL if this process started it. */
  close: () => Promise<void>
}

export interface OpenOptions {
  poolMax?: number
  onPostgresLog?: (line: string) => void
  onPoolError?: (error: Error) => void
}

export async function openDatabase (config: Config, options: OpenOptions = {}): Promise<OpenDatabase> {
  let url = config.DATABASE_URL
  let embedded: OpenDatabase['embedded']
  let stop = async (): Promise<void> => {}
  if (url === undefined || url === '') {
    // Loaded only when needed: with DATABASE_URL it would be a fifth of a CLI command's start-up.
    const { openEmbeddedPostgres } = await import('./embedded.ts')
    const server = await openEmbeddedPostgres({ dataDir: config.DATA_DIR, port: config.EMBEDDED_PG_PORT, onLog: options.onPostgresLog })
    url = server.url
    stop = server.stop
    embedded = { owned: server.owned }
  }
  const { db, pool } = connectWithPool(url, {
    poolMax: options.poolMax ?? config.DB_POOL_MAX,
    connectTimeoutMs: config.DB_CONNECT_TIMEOUT_MS,
    onPoolError: options.onPoolError
  })
  const close = async (): Promise<void> => {
    await db.destroy()
    await stop()
  }
  try {
    await assertConnects(db, { url, embeddedDataDir: embedded === undefined ? undefined : config.DATA_DIR, connectTimeoutMs: config.DB_CONNECT_TIMEOUT_MS })
    const results = await migrateToLatest(db)
    return { db, pool, url, applied: results.map((result) => result.migrationName), embedded, close }
  } catch (error) {
    await close()
    throw error
  }
}
