// Per-client request rate limits, with @fastify/rate-limit. Registered in the
// authenticated scope with the preHandler hook, after authentication, and
// keyed by the client (not the address): one client at its limit never slows
// another, and all of a client's keys share one budget. With REDIS_URL the
// counters live in Redis, so several instances enforce one budget.
import rateLimit from '@fastify/rate-limit'
import fp from 'fastify-plugin'
import { windowMs } from '../config.ts'
import { Errors } from '../errors.ts'
import { clientOf } from '../auth/client.ts'

export default fp(async function clientRateLimit (fastify) {
  const config = fastify.config
  const redis = fastify.redis
  await fastify.register(rateLimit, {
    global: true,
    hook: 'preHandler',
    // The client's own limit, set by the provider, or the service's.
    max: (request) => clientOf(request).rateLimit ?? config.RATE_LIMIT_MAX,
    timeWindow: windowMs(config.RATE_LIMIT_WINDOW),
    keyGenerator: (request) => `client:${clientOf(request).id}`,
    nameSpace: `${config.REDIS_PREFIX}rate-limit:`,
    ...(redis === undefined ? {} : { redis }),
    // Redis down: answer rather than fail every request (limits resume with it).
    skipOnError: true,
    errorResponseBuilder: (request, context) => {
      fastify.metrics.limited('requests', clientOf(request).id)
      return Errors.rateLimited(context.max, context.after, Math.ceil(context.ttl / 1000))
    }
  })
}, { name: 'client-rate-limit', dependencies: ['auth', 'redis', 'metrics'] })
