// The service's metrics as `fastify.metrics` (src/metrics/), and the one
// hook that times every answer. Registered early, so that the plugins after
// it record into it; what it reads from them is read only when scraped.
import fp from 'fastify-plugin'
import { Metrics } from '../metrics/metrics.ts'
import { readingsOf } from '../metrics/readings.ts'

declare module 'fastify' {
  interface FastifyInstance {
    metrics: Metrics
  }
}

export default fp(async function metrics (fastify) {
  const metrics = new Metrics({ perClient: fastify.config.METRICS_PER_CLIENT, readings: readingsOf(fastify) })
  fastify.decorate('metrics', metrics)
  fastify.addHook('onResponse', (request, reply, done) => {
    // The route's pattern, never the URL: one series per route, whatever the ids in its path.
    metrics.httpRequest(request.method, request.routeOptions.url, reply.statusCode, reply.elapsedTime / 1000)
    done()
  })
}, { name: 'metrics', dependencies: ['env'] })
