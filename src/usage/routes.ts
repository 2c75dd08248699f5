// GET /api/v1/usage (needs keys:manage): the caller's requests and logs per
// UTC day, and the bytes it stores. Counts this instance has not written yet
// are included, so a client sees its own latest requests at once.
import type { FastifyPluginAsync } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type, type Static } from '@sinclair/typebox'
import { Errors } from '../errors.ts'
import { AUTHENTICATED_ERRORS, errorResponses } from '../schemas/errors.ts'
import { mergeUsage, totalOf } from './store.ts'
import { usageOf } from './tenant-usage.ts'
import { queryLimitsDescription } from '../queries/runner.ts'
import { DEFAULT_DAYS, FIRST_DAY, MAX_DAYS, usageWindow, type WindowProblem } from './window.ts'
import { clientOf } from '../auth/client.ts'

const Counts = {
  requests: Type.Integer({ description: 'Authenticated requests answered.' }),
  rejected_requests: Type.Integer({ description: 'Of those, answered with an error (4xx or 5xx).' }),
  rate_limited: Type.Integer({ description: 'Of those, refused for a rate limit (429).' }),
  logs_accepted: Type.Integer({ description: 'Log entries newly stored.' }),
  logs_duplicates: Type.Integer({ description: 'Log entries already stored under their event_id.' }),
  logs_rejected: Type.Integer({ description: 'Log entries not stored because they, or another entry of their atomic batch, were invalid.' }),
  auth_failures: Type.Integer({
    description: 'Requests with one of the client\'s keys refused before they were answered as the client\'s: a revoked, expired or ' +
      'rotated key, an address outside the key\'s allowlist, a bad signature. Not counted in requests.'
  })
}

export const UsageReport = Type.Object({
  from: Type.String({ format: 'date' }),
  to: Type.String({ format: 'date' }),
  days: Type.Array(Type.Object({ day: Type.String({ format: 'date' }), ...Counts }), { description: 'Days with any usage, oldest first.' }),
  total: Type.Object(Counts),
  storage: Type.Object({
    stored_bytes: Type.Integer({
      description: 'The counted size of the client\'s stored logs now (the UTF-8 bytes of their text fields and attributes): ' +
        'what the storage quota is measured against.'
    }),
    quota_bytes: Type.Union([Type.Integer(), Type.Null()], {
      description: 'The client\'s storage quota; null: none. At or over it, ingest answers 403 storage_quota_exceeded.'
    })
  })
})

export type UsageReportBody = Static<typeof UsageReport>

const UsageQuery = Type.Object({
  from: Type.Optional(Type.String({ format: 'date', description: `First UTC day (default: ${DEFAULT_DAYS - 1} days before to).` })),
  to: Type.Optional(Type.String({ format: 'date', description: 'Last UTC day (default: today).' }))
}, { additionalProperties: false })

const WINDOW_PROBLEMS: Record<WindowProblem, string> = {
  order: 'from must be a day on or before to.',
  span: `at most ${MAX_DAYS} days at a time.`,
  first_day: `days start at ${FIRST_DAY}.`
}

export function dayRange (from: string | undefined, to: string | undefined, now = new Date()): { from: string, to: string } {
  const window = usageWindow(from, to, now)
  if (window.problem !== undefined) throw Errors.invalidRequest('querystring', WINDOW_PROBLEMS[window.problem])
  return window
}

const usageRoutes: FastifyPluginAsync = async (app) => {
  const fastify = app.withTypeProvider<TypeBoxTypeProvider>()
  fastify.get('/api/v1/usage', {
    config: { scope: 'keys:manage' },
    schema: {
      tags: ['keys'],
      summary: 'Requests and logs per UTC day for the caller\'s client, and the bytes it stores',
      description: queryLimitsDescription(fastify.config),
      querystring: UsageQuery,
      response: { 200: UsageReport, ...errorResponses(...AUTHENTICATED_ERRORS) }
    }
  }, async (request) => {
    const { from, to } = dayRange(request.query.from, request.query.to)
    const client = clientOf(request)
    const stored = await fastify.queries.runOnReplica(request, async (db) => await usageOf(db, client).days({ from, to }))
    const days = mergeUsage(stored, client.id, fastify.usage.pending(client.id), from, to)
    const quota = client.storageQuotaBytes ?? fastify.config.STORAGE_QUOTA_BYTES
    // The response schema leaves client_id out of each day.
    return {
      from,
      to,
      days,
      total: totalOf(days),
      storage: {
        stored_bytes: await fastify.usage.storedBytes(client),
        quota_bytes: quota === 0 ? null : quota
      }
    }
  })
}

export default usageRoutes
