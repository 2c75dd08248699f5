// The query routes' database access as `fastify.queries`: a pool of their
// own beside `fastify.db` (and one on the replica of DATABASE_READ_URL), a
// statement timeout, a cap on each client's queries at once, and
// cancellation of a statement whose client went away.
import fp from 'fastify-plugin'
import { sql } from 'kysely'
import pg from 'pg'
import { shownUrl } from '../db/connect-check.ts'
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
  const common = {
    poolMax: config.DB_READ_POOL_MAX,
    connectTimeoutMs: config.DB_CONNECT_TIMEOUT_MS,
    statementTimeoutMs: config.QUERY_TIMEOUT_MS,
    onCancelError: (error: unknown) => { fastify.log.warn({ err: error }, 'could not cancel the query of a request whose client went away') }
  }
  const primary = new ReadPool(fastify.databaseUrl, {
    ...common,
    applicationName: 'central-logger queries',
    onPoolError: (error) => { fastify.log.warn({ err: error }, 'query connection lost') },
    // On the main pool: the read pool's connections may all be taken, by the very statements to cancel.
    cancelBackend: async (pid) => { await sql`select pg_cancel_backend(${pid})`.execute(fastify.db) }
  })
  const readUrl = config.DATABASE_READ_URL ?? ''
  const replica = readUrl === ''
    ? undefined
    : new ReadPool(readUrl, {
      ...common,
      applicationName: 'central-logger replica queries',
      onPoolError: (error) => { fastify.log.warn({ err: error }, 'replica query connection lost') },
      // On a connection of its own: the backend is the replica's, and the replica pool's connections may all be taken.
      cancelBackend: async (pid) => { await cancelOn(readUrl, pid, config.DB_CONNECT_TIMEOUT_MS) }
    })
  if (replica !== undefined) fastify.log.info({ replica: shownUrl(readUrl) }, 'the log queries read a replica (DATABASE_READ_URL)')
  fastify.decorate('queries', new QueryRunner({ primary, replica }, {
    perClient: config.QUERY_CONCURRENCY_PER_CLIENT,
    timeoutMs: config.QUERY_TIMEOUT_MS,
    retryAfterSeconds: config.RETRY_AFTER_SECONDS,
    timedOut: () => { fastify.metrics.queryTimeout() }
  }))
  // Added after the database plugin's, so it runs before the main pool closes.
  fastify.addHook('onClose', async () => { await Promise.all([primary.close(), replica?.close()]) })
}, { name: 'queries', dependencies: ['env', 'database', 'metrics'] })

/** Cancels a backend's statement over a connection made for it (rare: a client gone mid-query). */
async function cancelOn (url: string, pid: number, connectTimeoutMs: number): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: connectTimeoutMs, application_name: 'central-logger cancel' })
  // A connection lost meanwhile fails the query below; unheard, its error event would end the process.
  client.on('error', () => {})
  await client.connect()
  try {
    await client.query('select pg_cancel_backend($1)', [pid])
  } finally {
    await client.end()
  }
}
