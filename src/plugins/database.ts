// The database handle: DATABASE_URL, or the embedded PostgreSQL under DATA_DIR.
// Migrates on start, closes the pool and stops an embedded server on close.
import fp from 'fastify-plugin'
import type { Kysely } from 'kysely'
import { sql } from 'kysely'
import { connect } from '../db/connect.ts'
import { openEmbeddedPostgres } from '../db/embedded.ts'
import { migrateToLatest } from '../db/migrate.ts'
import type { Database } from '../db/schema.ts'

declare module 'fastify' {
  interface FastifyInstance {
    db: Kysely<Database>
  }
}

export default fp(async function database (fastify) {
  const config = fastify.config
  let url = config.DATABASE_URL
  let stopEmbedded = async (): Promise<void> => {}
  if (url === undefined) {
    const embedded = await openEmbeddedPostgres({
      dataDir: config.DATA_DIR,
      port: config.EMBEDDED_PG_PORT,
      onLog: (line) => { fastify.log.debug({ postgres: line.trim() }, 'embedded postgres') }
    })
    url = embedded.url
    stopEmbedded = embedded.stop
    fastify.log.info({ dataDir: config.DATA_DIR, shared: !embedded.owned }, 'using the embedded PostgreSQL')
  }

  const db = connect(url, {
    poolMax: config.DB_POOL_MAX,
    connectTimeoutMs: config.DB_CONNECT_TIMEOUT_MS,
    onPoolError: (error) => { fastify.log.warn({ err: error }, 'idle database connection lost') }
  })
  try {
    const results = await migrateToLatest(db)
    for (const result of results) fastify.log.info({ migration: result.migrationName }, 'migration applied')
  } catch (error) {
    await db.destroy()
    await stopEmbedded()
    throw error
  }

  fastify.decorate('db', db)
  fastify.addHook('onClose', async () => {
    await db.destroy()
    await stopEmbedded()
  })
}, { name: 'database', dependencies: ['env'] })

export async function databaseIsReachable (db: Kysely<Database>): Promise<boolean> {
  try {
    await sql`select 1`.execute(db)
    return true
  } catch {
    return false
  }
}
