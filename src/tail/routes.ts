// GET /api/v1/logs/tail: the caller's new logs as server-sent events, within
// a second of their commit on any instance (hub.ts), with the listing's
// filters. Registered inside the authenticated scope.
import type { FastifyPluginAsync, FastifyReply } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { Errors } from '../errors.ts'
import { AUTHENTICATED_ERRORS, errorResponses } from '../schemas/errors.ts'
import { FilterQuery } from '../logs/schemas.ts'
import { logFilters } from '../logs/filters.ts'
import { logsOf } from '../logs/tenant-logs.ts'
import { queryLimitsDescription } from '../queries/runner.ts'
import { clientOf } from '../auth/client.ts'
import { TailSession } from './session.ts'
import { requiredKey } from '../auth/credentials.ts'
import type { PublicLog } from '../logs/tenant-logs.ts'

const UUID_PATTERN = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$'

/** How far a reader may fall behind before its tail is closed (it resumes with Last-Event-ID). */
const MAX_BUFFERED_BYTES = 1024 * 1024

const TailHeaders = Type.Object({
  'last-event-id': Type.Optional(Type.String({
    pattern: UUID_PATTERN,
    description: 'The id of the last event received: the logs made since, that pass the filters, are sent first (at most TAIL_RESUME_MAX).'
  }))
})

const tailRoutes: FastifyPluginAsync = async (app) => {
  const fastify = app.withTypeProvider<TypeBoxTypeProvider>()
  const config = fastify.config

  fastify.get('/api/v1/logs/tail', {
    config: { scope: 'logs:read' },
    schema: {
      tags: ['logs'],
      summary: 'Follow the caller\'s new logs live, as server-sent events',
      description: 'text/event-stream: each event is a stored log (event: log, id: its id, data: the log as GET /api/v1/logs ' +
        `shows it), sent within a second of its commit on any instance; a comment line every ${config.TAIL_HEARTBEAT_MS} ms. ` +
        'Takes the listing\'s filters. Last-Event-ID resumes: the logs made since that id are sent first ' +
        `(at most ${config.TAIL_RESUME_MAX}). At most ${config.TAIL_MAX_PER_CLIENT} tails per client on an instance ` +
        '(429 too_many_tails); 503 tail_unavailable while new logs cannot be heard. A reader that falls more than ' +
        `${MAX_BUFFERED_BYTES} bytes behind is closed, and resumes by reconnecting. The resume runs as a query: ` +
        queryLimitsDescription(config),
      querystring: FilterQuery,
      headers: TailHeaders,
      response: {
        200: { description: 'A stream of server-sent events.', content: { 'text/event-stream': { schema: Type.String() } } },
        ...errorResponses(...AUTHENTICATED_ERRORS)
      }
    }
  }, async (request, reply) => {
    const client = clientOf(request)
    const filters = logFilters(request.query)
    // Judged again while the tail lasts: the key that opened it must still allow it.
    const apiKey = requiredKey(request)
    const stillAllowed = async (): Promise<boolean> => {
      // Asked when a change to the key is heard; the key cache hears of it on a
      // connection of its own, maybe later, so the key is read afresh.
      fastify.keyResolver.forget(client.keyId)
      const now = await fastify.keyResolver.resolveDetailed(apiKey)
      return now.ok && now.client.keyId === client.keyId && now.client.scopes.includes('logs:read')
    }
    const resumeLimit = config.TAIL_RESUME_MAX
    const since = async (afterId: string, limit: number): Promise<PublicLog[]> =>
      await fastify.queries.background(async (db) => await logsOf(db, client).since(afterId, filters, limit))
    const session = new TailSession({
      client,
      filters,
      heartbeatMs: config.TAIL_HEARTBEAT_MS,
      maxBufferedBytes: MAX_BUFFERED_BYTES,
      since,
      catchUpLimit: resumeLimit,
      stillAllowed,
      onError: (error) => { request.log.warn({ err: error }, 'a tail could not catch up on the logs it missed, or judge its key') }
    })
    // The place is taken in the same step as the count is read: tails opened at once cannot all pass the cap.
    if (fastify.tails.count(client.id) >= config.TAIL_MAX_PER_CLIENT) {
      throw Errors.tooManyTails(config.TAIL_MAX_PER_CLIENT, config.RETRY_AFTER_SECONDS)
    }
    // Listening before the resume is read: a log committed meanwhile is held, not lost.
    session.onEnd(fastify.tails.subscribe(session))
    let missed: PublicLog[] = []
    try {
      if (!await fastify.tails.ready()) throw Errors.tailUnavailable(config.RETRY_AFTER_SECONDS)
      const lastEventId = request.headers['last-event-id']
      if (lastEventId !== undefined) {
        // One more than the bound, to tell a resume cut short. Read where every log committed before now is:
        // one committed before the tail began listening, and missing on a replica that lags, would never be sent.
        missed = (await fastify.queries.runAfter(request, 'now',
          async (db) => await logsOf(db, client).since(lastEventId.toLowerCase(), filters, resumeLimit + 1))).value
      }
    } catch (error) {
      session.abort()
      throw error
    }
    reply.raw.on('close', () => { session.abort() })
    reply.code(200)
      .header('content-type', 'text/event-stream; charset=utf-8')
      .header('cache-control', 'no-cache, no-store')
      // Proxies such as nginx would otherwise hold the events back in their buffers.
      .header('x-accel-buffering', 'no')
      // Never reused once the tail ends, so closed then: a stop must not wait for it to go idle.
      .header('connection', 'close')
    session.start(missed.slice(0, resumeLimit), missed.length > resumeLimit)
    // The schema documents the events as text; what is sent is the stream that carries them.
    return await (reply as FastifyReply).send(session.stream)
  })
}

export default tailRoutes
