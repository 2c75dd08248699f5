// Where each gauge of metrics.ts reads its value when scraped: the decorators
// of the other plugins, reached only then, once the app is built.
import type { FastifyInstance } from 'fastify'
import type { PoolUse } from '../db/read-pool.ts'
import type { PoolReading, Readings } from './metrics.ts'

function poolReading (use: PoolUse, max: number): PoolReading {
  return { inUse: use.total - use.idle, idle: use.idle, waiting: use.waiting, max }
}

export function readingsOf (fastify: FastifyInstance): Readings {
  const config = fastify.config
  const withRedis = config.REDIS_URL !== undefined && config.REDIS_URL !== ''
  return {
    writePool: () => {
      const pool = fastify.dbPool
      return { inUse: pool.totalCount - pool.idleCount, idle: pool.idleCount, waiting: pool.waitingCount, max: config.DB_POOL_MAX }
    },
    readPool: () => poolReading(fastify.queries.poolsUse().primary, config.DB_READ_POOL_MAX),
    replicaPool: config.DATABASE_READ_URL === undefined || config.DATABASE_READ_URL === ''
      ? undefined
      : () => poolReading(fastify.queries.poolsUse().replica ?? { total: 0, idle: 0, waiting: 0 }, config.DB_READ_POOL_MAX),
    writeQueue: () => {
      const writer = fastify.logWriter
      return { requests: writer.queued, rows: writer.queuedRows, writing: writer.writing }
    },
    keyCache: () => {
      const resolver = fastify.keyResolver
      return { hits: resolver.cacheHits, misses: resolver.cacheMisses, lookups: resolver.lookups }
    },
    throttledAddresses: () => fastify.authThrottle.blockedCount(),
    openTails: () => fastify.tails.open,
    redisUp: withRedis ? () => fastify.redis?.status === 'ready' : undefined,
    pressure: () => fastify.pressure.passed()
  }
}
