// GET /api/v1/logs/stats: the caller's logs counted per time bucket, and per
// value of a field. Registered inside the authenticated scope.
import type { FastifyPluginAsync } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { clientOf } from '../auth/client.ts'
import { Errors } from '../errors.ts'
import { queryLimitsDescription } from '../queries/runner.ts'
import { AUTHENTICATED_ERRORS, errorResponses } from '../schemas/errors.ts'
import { responseSerializers } from '../schemas/serialize.ts'
import { bucketCount, bucketStarts, describeSpan, finestFitting, MAX_BUCKETS } from './buckets.ts'
import { logFilters } from './filters.ts'
import { StatsAnswer, StatsQuery, TOP_VALUES } from './stats-schemas.ts'
import { statsOf } from './tenant-stats.ts'

const DAY_MS = 86_400_000

const statsRoutes: FastifyPluginAsync = async (app) => {
  const fastify = app.withTypeProvider<TypeBoxTypeProvider>()

  fastify.get('/api/v1/logs/stats', {
    config: { scope: 'logs:read' },
    // Up to 1,500 buckets of up to 10 nullable values each: serialized without validating each value's union.
    serializerCompiler: responseSerializers,
    schema: {
      tags: ['logs'],
      summary: 'Count the caller\'s logs per minute, hour or day, optionally per status, level, environment or workflow',
      description: 'Buckets start on UTC boundaries of the interval (the first at from truncated to it) and cover [from, to); ' +
        'every bucket is listed, empty ones with total 0. Only logs with from <= executed_at < to are counted, so a first ' +
        `bucket that starts before from counts from from. At most ${MAX_BUCKETS} buckets (400 too_many_buckets, naming an ` +
        `interval that fits). With group_by, each bucket lists its ${TOP_VALUES} most frequent values and counts the rest in ` +
        `other. Takes every filter of the listing. ${queryLimitsDescription(fastify.config)}`,
      querystring: StatsQuery,
      response: { 200: StatsAnswer, ...errorResponses(...AUTHENTICATED_ERRORS) }
    }
  }, async (request) => {
    const { query } = request
    const filters = logFilters(query)
    const to = filters.to ?? new Date()
    const from = filters.from ?? new Date(to.getTime() - DAY_MS)
    if (from >= to) {
      throw Errors.invalidRequest('querystring', `from must be before to; from is ${from.toISOString()}, to is ${to.toISOString()}.`)
    }
    const { interval } = query
    const buckets = bucketCount(from, to, interval)
    if (buckets > MAX_BUCKETS) throw Errors.tooManyBuckets(describeSpan(from, to), interval, buckets, MAX_BUCKETS, finestFitting(from, to))

    const counted = await fastify.queries.runOnReplica(request, async (db) =>
      await statsOf(db, clientOf(request)).count({ ...filters, from, to, interval, group_by: query.group_by }))
    const byStart = new Map(counted.map((bucket) => [bucket.start.getTime(), bucket]))
    return {
      interval,
      from: from.toISOString(),
      to: to.toISOString(),
      group_by: query.group_by ?? null,
      // Filled here rather than by generate_series: at most 1,500 lookups, and the database sends only buckets that hold logs.
      buckets: bucketStarts(from, to, interval).map((start) => {
        const bucket = byStart.get(start.getTime())
        return { ...(bucket ?? { counts: [], other: 0, total: 0 }), start: start.toISOString() }
      })
    }
  })
}

export default statsRoutes
