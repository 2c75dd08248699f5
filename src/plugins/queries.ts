// The query routes' database access as `fastify.queries`: a pool of their
// own beside `fastify.db`, a statement timeout, a cap on each client's
// queries at once, and cancellation of a statement whose client went away.
import fp from 'fastify-plugin'
import { sql } from 'kysely'
import { ReadPool } from '../db/read-pool.ts'
import { QueryRunner } from '../queries/runner.ts'

declare module 'fastify' {
  interface FastifyInstance {
    queries: QueryRunner
  }
}

export default fp(async function queries (fastify) {
  const config = fastify.config
  if (config.QUERY_CONCURRENCY_PER_CLIENT >= config.DB_READ_POOL_MAX) {
    throw new Error(`QUERY_CONCURRENCY_PER_CLIENT (${config.QUERY_CONCURRENCY_PER_CLIENT}) must be below DB_READ_POOL_MAX ` +
      `(${config.DB_READ_POOL_MAX}), so that one client can never take every connection of the read pool.`)
  }
  const pool = new ReadPool(fastify.databaseUrl, {
    poolMax: config.DB_READ_POOL_MAX,
    connectTimeoutMs: config.DB_CONNECT_TIMEOUT_MS,
    statementTimeoutMs: config.QUERY_TIMEOUT_MS,
    applicationName: 'central-logger queries',
    onPoolError: (error) => { fastify.log.warn({ err: error }, 'query connection lost') },
    // On the main pool: the read pool's connections may all be taken, by the very statements to cancel.
    cancelBackend: async (pid) => { await sql`select pg_cancel_backend(${pid})`.execute(fastify.db) },
    onCancelError: (error) => { fastify.log.warn({ err: error }, 'could not cancel the query of a request whose client went away') }
  })
  fastify.decorate('queries', new QueryRunner(pool, {
    perClient: config.QUERY_CONCURRENCY_PER_CLIENT,
    timeoutMs: config.QUERY_TIMEOUT_MS,
    retryAfterSeconds: config.RETRY_AFTER_SECONDS,
    timedOut: () => { fastify.metrics.queryTimeout() }
  }))
  // Added after the database plugin's, so it runs before the main pool closes.
  fastify.addHook('onClose', async () => { await pool.close() })
}, { name: 'queries', dependencies: ['env', 'database', 'metrics'] })
