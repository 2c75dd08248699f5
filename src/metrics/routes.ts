// GET /metrics on the service's own port (unless METRICS_PORT gives it one
// of its own: listener.ts). No API key; METRICS_TOKEN, when set, is required.
import type { FastifyPluginAsync } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { metricsPort } from '../config.ts'
import { Errors } from '../errors.ts'
import { errorResponses } from '../schemas/errors.ts'
import { openBeyondLoopback, scrapeAccess } from './access.ts'

export const METRICS_DESCRIPTION = 'Prometheus text (version 0.0.4): requests and latency by route pattern and status class, ' +
  'log entries by protocol and outcome, group commit, authentication failures, limits, pools, queues, caches, Redis, ' +
  'tails, back-pressure, and the process (see the README\'s metrics reference). With METRICS_TOKEN set, it needs ' +
  '`Authorization: Bearer <METRICS_TOKEN>` (401 invalid_metrics_token otherwise).'

const metricsRoutes: FastifyPluginAsync = async (app) => {
  const fastify = app.withTypeProvider<TypeBoxTypeProvider>()
  const config = fastify.config
  if (metricsPort(config) !== undefined) return
  if (openBeyondLoopback(config.HOST, config.METRICS_TOKEN)) {
    fastify.log.warn({ HOST: config.HOST }, 'GET /metrics is open to anyone who reaches PORT: set METRICS_TOKEN, or METRICS_PORT ' +
      'on an address only the scraper reaches')
  }
  const allowed = scrapeAccess(config.METRICS_TOKEN)

  fastify.get('/metrics', {
    // Metrics show what saturates an instance: they are served whatever its load.
    config: { servedUnderPressure: true },
    schema: {
      tags: ['operations'],
      summary: 'Metrics for Prometheus',
      description: METRICS_DESCRIPTION,
      response: {
        200: { description: 'The metrics.', content: { 'text/plain': { schema: Type.String() } } },
        ...errorResponses(401)
      }
    }
  }, async (request, reply) => {
    if (!allowed(request.headers.authorization)) throw Errors.invalidMetricsToken()
    return await reply.type(fastify.metrics.contentType).send(await fastify.metrics.render())
  })
}

export default metricsRoutes
