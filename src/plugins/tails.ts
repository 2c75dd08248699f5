// Live tails as `fastify.tails`: the instance's one listener for new logs and
// the tails open here. Stopping ends every tail first, so that a stop is not
// held by connections that never finish on their own.
import fp from 'fastify-plugin'
import { TailHub } from '../tail/hub.ts'
import { logsOf } from '../logs/tenant-logs.ts'

declare module 'fastify' {
  interface FastifyInstance {
    tails: TailHub
  }
}

export default fp(async function tails (fastify) {
  const hub = new TailHub({
    databaseUrl: fastify.databaseUrl,
    read: async (client, ids) => await fastify.queries.background(async (db) => await logsOf(db, client).byIds(ids)),
    log: fastify.log
  })
  fastify.decorate('tails', hub)
  fastify.addHook('preClose', async () => { await hub.close() })
}, { name: 'tails', dependencies: ['env', 'database', 'queries'] })
