// GET /health (the process is up) and GET /ready (the database answers, and
// the instance is not overloaded). No key needed; both are answered under
// back-pressure (plugins/pressure.ts), /ready then with 503.
import type { FastifyPluginAsync } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { Errors } from '../errors.ts'
import { databaseCheck } from './database-check.ts'
import { errorResponses } from '../schemas/errors.ts'

const healthRoutes: FastifyPluginAsync = async (app) => {
  const fastify = app.withTypeProvider<TypeBoxTypeProvider>()
  // As long as a request may wait for a connection before its answer is 503.
  const databaseIsReachable = databaseCheck(fastify.db, fastify.config.DB_CONNECT_TIMEOUT_MS)

  fastify.get('/health', {
    config: { servedUnderPressure: true },
    schema: {
      tags: ['operations'],
      summary: 'Liveness: the process is up',
      response: { 200: Type.Object({ status: Type.Literal('ok') }) }
    }
  }, async () => ({ status: 'ok' as const }))

  fastify.get('/ready', {
    config: { servedUnderPressure: true },
    schema: {
      tags: ['operations'],
      summary: 'Readiness: the database is reachable and the instance is not overloaded',
      description: '503 database_unavailable, or 503 overloaded (details.reason: event_loop, heap or write_queue) while ' +
        'a limit of back-pressure is passed; both with Retry-After.',
      response: { 200: Type.Object({ status: Type.Literal('ready') }), ...errorResponses(503) }
    }
  }, async () => {
    const retryAfter = fastify.config.RETRY_AFTER_SECONDS
    const [overloaded] = fastify.pressure.passed()
    if (overloaded !== undefined) throw Errors.overloaded(overloaded, retryAfter)
    if (!await databaseIsReachable()) throw Errors.databaseUnavailable(retryAfter)
    return { status: 'ready' as const }
  })
}

export default healthRoutes
