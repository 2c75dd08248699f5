// GET /api/v1/audit (needs keys:manage): the caller's own audit trail, newest
// first. Events that name no client (failures with a key nobody owns) are the
// provider's, shown by the CLI only.
import type { FastifyPluginAsync } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type, type Static } from '@sinclair/typebox'
import { AUTHENTICATED_ERRORS, errorResponses } from '../schemas/errors.ts'
import { AUDIT_EVENTS } from './store.ts'
import { auditOf } from './tenant-audit.ts'
import { presentAuditEvent } from './present.ts'
import { PageLimit } from '../logs/schemas.ts'
import { timeFilter } from '../logs/time.ts'
import { queryLimitsDescription } from '../queries/runner.ts'
import { clientOf } from '../auth/client.ts'

export const AuditEventView = Type.Object({
  id: Type.String({ description: 'Increasing with time.' }),
  occurred_at: Type.String({ format: 'date-time' }),
  event: Type.String({ description: AUDIT_EVENTS.join(', ') }),
  key_id: Type.Union([Type.String({ format: 'uuid' }), Type.Null()]),
  key_prefix: Type.Union([Type.String(), Type.Null()]),
  actor: Type.String({ description: 'cli:<user>, key:<key id> (self-service) or service (observed by the service).' }),
  address: Type.Union([Type.String(), Type.Null()]),
  reason: Type.Union([Type.String(), Type.Null()]),
  details: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()])
})

const AuditPage = Type.Object({ data: Type.Array(AuditEventView), next_cursor: Type.Union([Type.String(), Type.Null()]) })

export type AuditEventBody = Static<typeof AuditEventView>
export type AuditPageBody = Static<typeof AuditPage>

const AuditQuery = Type.Object({
  limit: PageLimit,
  cursor: Type.Optional(Type.String({ pattern: '^[0-9]{1,15}$', description: 'next_cursor of the previous page.' })),
  event: Type.Optional(Type.Unsafe<typeof AUDIT_EVENTS[number]>({ type: 'string', enum: [...AUDIT_EVENTS] })),
  since: Type.Optional(Type.String({ format: 'date-time' }))
}, { additionalProperties: false })

const auditRoutes: FastifyPluginAsync = async (app) => {
  const fastify = app.withTypeProvider<TypeBoxTypeProvider>()
  fastify.get('/api/v1/audit', {
    config: { scope: 'keys:manage' },
    schema: {
      tags: ['keys'],
      summary: 'The caller\'s audit trail: key events and authentication failures, newest first',
      description: 'A page ends at limit events, or earlier, before the event that would take its details past ' +
        `${fastify.config.MAX_PAGE_BYTES} bytes: follow next_cursor until it is null. ${queryLimitsDescription(fastify.config)}`,
      querystring: AuditQuery,
      response: {
        200: AuditPage,
        ...errorResponses(...AUTHENTICATED_ERRORS)
      }
    }
  }, async (request) => {
    const { limit, cursor, event, since } = request.query
    const query = {
      limit,
      event,
      since: timeFilter(since, 'since'),
      beforeId: cursor === undefined ? undefined : Number(cursor),
      maxBytes: fastify.config.MAX_PAGE_BYTES
    }
    const { rows, more } = await fastify.queries.run(request, async (db) => await auditOf(db, clientOf(request)).page(query))
    return {
      data: rows.map(presentAuditEvent),
      next_cursor: more ? String(rows.at(-1)!.id) : null
    }
  })
}

export default auditRoutes
