// The database handle as `fastify.db`: opened (and migrated) on start, closed
// on close, with the embedded PostgreSQL stopped if this process started it.
import fp from 'fastify-plugin'
import type { Kysely } from 'kysely'
import type pg from 'pg'
import { caseFolding } from '../db/case-folding.ts'
import { openDatabase } from '../db/open.ts'
import type { Database } from '../db/schema.ts'

declare module 'fastify' {
  interface FastifyInstance {
    db: Kysely<Database>
    /** The pg pool under `db`, for the prepared statement of the write path; closed with `db`. */
    dbPool: pg.Pool
    /** The connection string of `db`, for connections outside the pool (LISTEN). */
    databaseUrl: string
  }
}

export default fp(async function database (fastify) {
  const database = await openDatabase(fastify.config, {
    onPostgresLog: (line) => { fastify.log.debug({ postgres: line.trim() }, 'embedded postgres') },
    onPoolError: (error) => { fastify.log.warn({ err: error }, 'database connection lost') }
  })
  if (database.embedded !== undefined) {
    fastify.log.info({ dataDir: fastify.config.DATA_DIR, shared: !database.embedded.owned }, 'using the embedded PostgreSQL')
  }
  for (const migration of database.applied) fastify.log.info({ migration }, 'migration applied')
  const { folds, encoding } = await caseFolding(database.db)
  if (!folds) {
    fastify.log.warn({ encoding }, database.embedded === undefined
      ? 'the database does not fold case beyond ASCII, so ?q= finds "Échec" only as written: ' +
        'see "UTF-8" under Operations in the README to move the data to a UTF-8 database'
      : `the embedded database in ${fastify.config.DATA_DIR} is ${encoding} (made by an earlier version without LANG), so ?q= finds "Échec" only as written: ` +
        'stop the service and run `npm run convert-utf8` (see "UTF-8" under Operations in the README)')
  }
  fastify.decorate('db', database.db)
  fastify.decorate('dbPool', database.pool)
  fastify.decorate('databaseUrl', database.url)
  fastify.addHook('onClose', database.close)
}, { name: 'database', dependencies: ['env'] })
