// The stats route's query and answer: the single source of its validation, types and OpenAPI.
import { Type, type Static } from '@sinclair/typebox'
import { INTERVALS, MAX_BUCKETS } from './buckets.ts'
import { FilterParams } from './schemas.ts'

export const GROUPS = ['status', 'level', 'environment', 'workflow_id'] as const

export type Group = typeof GROUPS[number]

/** The most values a bucket lists by name; the rest of its rows are counted together in `other`. */
export const TOP_VALUES = 10

// Plain enums (not unions of literals) so that a bad value gets one clear error.
const IntervalParam = Type.Unsafe<typeof INTERVALS[number]>({
  type: 'string',
  enum: [...INTERVALS],
  default: 'hour',
  description: `The bucket size; buckets start on UTC boundaries of it. At most ${MAX_BUCKETS} buckets.`
})

const GroupParam = Type.Unsafe<Group>({ type: 'string', enum: [...GROUPS], description: 'Count each bucket per value of this field.' })

export const StatsQuery = Type.Object({
  ...FilterParams,
  from: Type.Optional(Type.String({ format: 'date-time', description: 'executed_at at or after this time (default: 24 hours before to).' })),
  to: Type.Optional(Type.String({ format: 'date-time', description: 'executed_at before this time (default: now).' })),
  interval: IntervalParam,
  group_by: Type.Optional(GroupParam)
}, { additionalProperties: false })

export type StatsQueryInput = Static<typeof StatsQuery>

const Count = Type.Object({
  value: Type.Union([Type.String(), Type.Null()], { description: 'The field\'s value; null for logs without a workflow_id.' }),
  count: Type.Integer()
})

const Bucket = Type.Object({
  start: Type.String({ format: 'date-time', description: 'The bucket covers [start, start + interval), within [from, to).' }),
  counts: Type.Array(Count, {
    description: `With group_by: the ${TOP_VALUES} most frequent values of the bucket, by count descending, then value ` +
      '(in code point order, null last); empty without group_by and in an empty bucket.'
  }),
  other: Type.Integer({ description: `Logs of the bucket whose value is not among its ${TOP_VALUES} listed; 0 without group_by.` }),
  total: Type.Integer({ description: 'Every log of the bucket: the listed counts and other together.' })
})

export const StatsAnswer = Type.Object({
  interval: Type.String(),
  from: Type.String({ format: 'date-time' }),
  to: Type.String({ format: 'date-time' }),
  group_by: Type.Union([Type.String(), Type.Null()]),
  buckets: Type.Array(Bucket, { description: 'Every bucket covering [from, to), oldest first, empty ones included.' })
})

export type StatsAnswerBody = Static<typeof StatsAnswer>
export type StatsBucket = Static<typeof Bucket>
