// GET /health (the process is up) and GET /ready (the database answers). No key needed.
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
    schema: {
      tags: ['operations'],
      summary: 'Liveness: the process is up',
      response: { 200: Type.Object({ status: Type.Literal('ok') }) }
    }
  }, async () => ({ status: 'ok' as const }))

  fastify.get('/ready', {
    schema: {
      tags: ['operations'],
      summary: 'Readiness: the database is reachable',
      response: { 200: Type.Object({ status: Type.Literal('ready') }), ...errorResponses(503) }
    }
  }, async () => {
    if (!await databaseIsReachable()) throw Errors.databaseUnavailable(fastify.config.RETRY_AFTER_SECONDS)
    return { status: 'ready' as const }
  })
}

export default healthRoutes
