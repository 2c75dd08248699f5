import t from 'tap'
import { bucketCount, bucketStart, bucketStarts, describeSpan, finestFitting } from '../../src/logs/buckets.ts'

const at = (text: string): Date => new Date(text)

void t.test('a bucket starts on the UTC boundary at or before the time', async (t) => {
  t.equal(bucketStart(at('2026-11-20T10:59:59.999Z'), 'hour').toISOString(), '2026-11-20T10:00:00.000Z')
  t.equal(bucketStart(at('2026-11-20T10:00:00.000Z'), 'hour').toISOString(), '2026-11-20T10:00:00.000Z', 'a boundary starts its own bucket')
  t.equal(bucketStart(at('2026-11-20T23:30:00-05:00'), 'day').toISOString(), '2026-11-21T00:00:00.000Z', 'a UTC day, whatever the offset')
  t.equal(bucketStart(at('1969-12-31T23:59:30Z'), 'minute').toISOString(), '1969-12-31T23:59:00.000Z', 'before 1970 too')
})

void t.test('buckets cover [from, to), the first truncated', async (t) => {
  t.equal(bucketCount(at('2026-11-20T10:00:00Z'), at('2026-11-20T12:00:00Z'), 'hour'), 2)
  t.equal(bucketCount(at('2026-11-20T10:30:00Z'), at('2026-11-20T12:00:00Z'), 'hour'), 2)
  t.equal(bucketCount(at('2026-11-20T10:30:00Z'), at('2026-11-20T12:00:00.001Z'), 'hour'), 3, 'a millisecond past a boundary opens a bucket')
  t.equal(bucketCount(at('2026-11-20T10:00:00Z'), at('2026-11-20T10:00:00Z'), 'hour'), 0)
  t.same(bucketStarts(at('2026-11-20T10:30:00Z'), at('2026-11-20T12:00:00.001Z'), 'hour').map((start) => start.toISOString()),
    ['2026-11-20T10:00:00.000Z', '2026-11-20T11:00:00.000Z', '2026-11-20T12:00:00.000Z'])
})

void t.test('the finest interval that fits 1,500 buckets, and a span in words', async (t) => {
  t.equal(finestFitting(at('2026-11-20T00:00:00Z'), at('2026-11-21T01:00:00Z')), 'minute')
  t.equal(finestFitting(at('2026-11-20T00:00:00Z'), at('2026-11-21T01:00:00.001Z')), 'hour')
  t.equal(finestFitting(at('2026-01-01T00:00:00Z'), at('2027-01-01T00:00:00Z')), 'day')
  t.equal(finestFitting(at('2020-01-01T00:00:00Z'), at('2030-01-01T00:00:00Z')), undefined)
  const span = (from: string, to: string): string => describeSpan(at(from), at(to))
  t.equal(span('2026-11-01T00:00:00Z', '2026-12-01T00:00:00Z'), '30 days')
  t.equal(span('2026-11-01T00:00:00Z', '2026-11-02T12:00:00Z'), '1.5 days')
  t.equal(span('2026-11-01T00:00:00Z', '2026-11-02T01:00:00Z'), '25 hours', 'not rounded to a day')
  t.equal(span('2026-11-01T00:00:00Z', '2026-11-02T01:00:00.001Z'), '25 hours')
  t.equal(span('2026-11-01T00:00:00Z', '2026-11-01T01:00:00Z'), '1 hour')
  t.equal(span('2026-11-01T00:00:00Z', '2026-11-01T00:00:00.5Z'), '0.5 seconds')
})
