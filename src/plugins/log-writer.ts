// The ingest write path as `fastify.logWriter`: group commit on the main
// pool (group-writer.ts). Closing waits until every request it took is
// answered, before the pool closes.
import fp from 'fastify-plugin'
import { Errors } from '../errors.ts'
import { GroupWriter } from '../logs/group-writer.ts'

declare module 'fastify' {
  interface FastifyInstance {
    logWriter: GroupWriter
  }
}

// A second write in flight only for a full group (group-writer.ts): large
// batches then use two database connections; single entries wait for the
// write in flight and make larger groups. More would take connections that
// authentication and the usage writes share.
const WRITE_CONCURRENCY = 2

export default fp(async function logWriter (fastify) {
  const config = fastify.config
  const writer = new GroupWriter(fastify.dbPool, {
    concurrency: WRITE_CONCURRENCY,
    // At most one largest batch's worth of rows per statement, so that building one holds the event loop briefly.
    maxGroupRows: config.MAX_BATCH_ENTRIES,
    timeoutMs: config.WRITE_TIMEOUT_MS,
    timedOut: () => {
      fastify.metrics.writeTimeout()
      return Errors.writeTimeout(config.WRITE_TIMEOUT_MS, config.RETRY_AFTER_SECONDS)
    },
    written: (group) => { fastify.metrics.writeGroup(group.requests, group.rows, group.seconds, group.committed) }
  })
  fastify.decorate('logWriter', writer)
  // Added after the database plugin's, so it runs before the pool closes.
  fastify.addHook('onClose', async () => { await writer.drain() })
}, { name: 'log-writer', dependencies: ['env', 'database', 'metrics'] })
