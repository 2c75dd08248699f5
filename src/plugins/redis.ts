// One Redis connection per instance when REDIS_URL is set, shared by
// everything that counts across instances (rate limits, ingest volume,
// failed authentications, request nonces). `fastify.redis` is undefined
// without REDIS_URL: each of those then keeps its state in this process (or,
// for nonces, in PostgreSQL).
import fp from 'fastify-plugin'
import { Redis } from 'ioredis'

declare module 'fastify' {
  interface FastifyInstance {
    redis: Redis | undefined
  }
}

/** How long a request waits for one Redis reply before it does without (the answer on loopback or a LAN takes well under 1 ms). */
export const REDIS_COMMAND_TIMEOUT_MS = 250

export default fp(async function redis (fastify) {
  const url = fastify.config.REDIS_URL
  if (url === undefined || url === '') {
    fastify.decorate('redis', undefined)
    return
  }
  const client = new Redis(url, {
    // Fail fast rather than queue: a request must not wait for Redis to come back.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    // A Redis that is connected but silent (a partition, a failover, a paused
    // server) must not hold requests either: each use falls back after this.
    commandTimeout: REDIS_COMMAND_TIMEOUT_MS,
    // And a dead peer behind a silent network is noticed.
    keepAlive: 10_000
  })
  let warned = false
  client.on('error', (error) => {
    // Reconnection keeps trying; one warning per outage is enough.
    if (!warned) fastify.log.warn({ err: error }, 'Redis unreachable: shared counters fall back as documented until it is back')
    warned = true
  })
  client.on('ready', () => {
    if (warned) fastify.log.info('Redis reachable again')
    warned = false
  })
  fastify.decorate('redis', client)
  // Not quit(): with Redis unreachable it would wait for a connection that never comes.
  fastify.addHook('onClose', async () => { client.disconnect() })
}, { name: 'redis' })
