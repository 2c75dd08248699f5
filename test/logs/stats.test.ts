import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import t from 'tap'
import type { StatsAnswerBody, StatsBucket } from '../../src/logs/stats-schemas.ts'
import { buildTestApp, entry, expectError, issueKey, postLogs } from '../helper.ts'

type Query = Record<string, string | number>

async function post (app: FastifyInstance, apiKey: string, entries: Array<Record<string, unknown>>): Promise<void> {
  const res = await postLogs(app, apiKey, entries)
  if (res.statusCode !== 201) throw new Error(`ingest answered ${res.statusCode}: ${res.body}`)
}

async function stats (app: FastifyInstance, apiKey: string, query: Query = {}): Promise<LightMyRequestResponse> {
  const search = new URLSearchParams(Object.entries(query).map(([name, value]): [string, string] => [name, String(value)]))
  const suffix = search.size === 0 ? '' : `?${search.toString()}`
  return await app.inject({ method: 'GET', url: `/api/v1/logs/stats${suffix}`, headers: { 'x-api-key': apiKey } })
}

async function answer (app: FastifyInstance, apiKey: string, query: Query = {}): Promise<StatsAnswerBody> {
  const res = await stats(app, apiKey, query)
  if (res.statusCode !== 200) throw new Error(`stats answered ${res.statusCode}: ${res.body}`)
  return res.json<StatsAnswerBody>()
}

/** Bucket start → total, for the buckets that hold logs. */
function totals (body: StatsAnswerBody): Record<string, number> {
  return Object.fromEntries(body.buckets.filter((bucket) => bucket.total > 0).map((bucket) => [bucket.start, bucket.total]))
}

function sumOf (body: StatsAnswerBody): number {
  return body.buckets.reduce((sum, bucket) => sum + bucket.total, 0)
}

const at = (time: string): Record<string, unknown> => entry({ executed_at: time })

void t.test('buckets are aligned to UTC, cover [from, to), and count a log in the bucket its time falls in', async (t) => {
  const { app } = await buildTestApp(t)
  const { apiKey } = await issueKey(app, 'acme')
  await post(app, apiKey, [
    at('2026-11-20T09:29:59.999Z'), // before from, in the first bucket's hour: not counted
    at('2026-11-20T09:30:00.000Z'), // at from: counted
    at('2026-11-20T09:59:59.999Z'), // the last moment of the first bucket
    at('2026-11-20T10:00:00.000Z'), // exactly on a boundary: the bucket it starts
    at('2026-11-20T10:00:00.000Z'),
    at('2026-11-20T12:14:59.999Z'), // just before to: counted
    at('2026-11-20T12:15:00.000Z'), // at to: not counted
    at('2026-11-20T13:00:00.000Z')
  ])

  const body = await answer(app, apiKey, { from: '2026-11-20T09:30:00Z', to: '2026-11-20T12:15:00Z' })
  t.same(body, {
    interval: 'hour',
    from: '2026-11-20T09:30:00.000Z',
    to: '2026-11-20T12:15:00.000Z',
    group_by: null,
    buckets: [
      { start: '2026-11-20T09:00:00.000Z', counts: [], other: 0, total: 2 },
      { start: '2026-11-20T10:00:00.000Z', counts: [], other: 0, total: 2 },
      { start: '2026-11-20T11:00:00.000Z', counts: [], other: 0, total: 0 },
      { start: '2026-11-20T12:00:00.000Z', counts: [], other: 0, total: 1 }
    ]
  }, 'the first bucket starts at from truncated, counts only from from; the last ends past to, counts only before it')

  const offset = await answer(app, apiKey, { from: '2026-11-20T10:30:00+01:00', to: '2026-11-20T13:15:00+01:00' })
  t.same(offset.buckets, body.buckets, 'a time zone offset names the same instants; buckets stay on UTC boundaries')
  t.equal(offset.from, '2026-11-20T09:30:00.000Z', 'from is answered in UTC')

  const aligned = await answer(app, apiKey, { from: '2026-11-20T10:00:00Z', to: '2026-11-20T11:00:00Z' })
  t.same(aligned.buckets, [{ start: '2026-11-20T10:00:00.000Z', counts: [], other: 0, total: 2 }], 'an aligned hour is one bucket')
})

void t.test('every bucket of the range is listed, empty ones with no counts and a total of 0', async (t) => {
  const { app } = await buildTestApp(t)
  const { apiKey } = await issueKey(app, 'acme')
  await post(app, apiKey, [at('2026-11-20T00:10:00Z'), at('2026-11-20T05:10:00Z'), at('2026-11-20T05:20:00Z')])

  const body = await answer(app, apiKey, { from: '2026-11-20T00:00:00Z', to: '2026-11-21T00:00:00Z', group_by: 'status' })
  t.equal(body.buckets.length, 24, 'a day by hour is 24 buckets')
  t.same(body.buckets.map((bucket) => bucket.start), Array.from({ length: 24 }, (_, hour) => `2026-11-20T${String(hour).padStart(2, '0')}:00:00.000Z`))
  const empty = body.buckets.filter((bucket) => bucket.total === 0)
  t.equal(empty.length, 22)
  t.ok(empty.every((bucket) => bucket.counts.length === 0 && bucket.other === 0), 'an empty bucket has counts [] and other 0')
  t.same(body.buckets[5], { start: '2026-11-20T05:00:00.000Z', counts: [{ value: 'SUCCESS', count: 2 }], other: 0, total: 2 })

  const none = await answer(app, apiKey, { from: '2026-11-19T00:00:00Z', to: '2026-11-19T03:00:00Z', group_by: 'workflow_id' })
  t.same(none.buckets.map((bucket) => bucket.total), [0, 0, 0], 'a range without logs is all empty buckets')
})

void t.test('each interval, and each group_by, sorted by count descending then value', async (t) => {
  const { app } = await buildTestApp(t)
  const { apiKey } = await issueKey(app, 'acme')
  const logs = [
    { executed_at: '2026-11-20T10:00:10Z', status: 'failure', level: 'error', environment: 'production', workflow_id: 'wf-b' },
    { executed_at: '2026-11-20T10:00:20Z', status: 'FAILURE', level: 'error', environment: 'staging', workflow_id: 'wf-a' },
    { executed_at: '2026-11-20T10:00:30Z', status: 'SUCCESS', level: 'info', environment: 'production', workflow_id: 'wf-b' },
    { executed_at: '2026-11-20T10:00:40Z', status: 'SKIPPED', level: 'warn', environment: 'dev', workflow_id: 'wf-c' },
    { executed_at: '2026-11-20T10:01:00Z', status: 'SUCCESS', level: 'info', environment: 'production', workflow_id: 'wf-a' },
    { executed_at: '2026-11-20T11:30:00Z', status: 'SUCCESS', level: 'debug', environment: 'production', workflow_id: 'wf-a' },
    { executed_at: '2026-11-21T08:00:00Z', status: 'RUNNING', level: 'info', environment: 'dev' }
  ]
  await post(app, apiKey, logs.map((log) => entry(log)))

  const byMinute = await answer(app, apiKey, { from: '2026-11-20T10:00:00Z', to: '2026-11-20T10:03:00Z', interval: 'minute', group_by: 'status' })
  t.equal(byMinute.interval, 'minute')
  t.equal(byMinute.group_by, 'status')
  t.same(byMinute.buckets, [
    {
      start: '2026-11-20T10:00:00.000Z',
      counts: [{ value: 'FAILURE', count: 2 }, { value: 'SKIPPED', count: 1 }, { value: 'SUCCESS', count: 1 }],
      other: 0,
      total: 4
    },
    { start: '2026-11-20T10:01:00.000Z', counts: [{ value: 'SUCCESS', count: 1 }], other: 0, total: 1 },
    { start: '2026-11-20T10:02:00.000Z', counts: [], other: 0, total: 0 }
  ], 'by minute: the highest count first, ties in value order; status as stored, upper-cased')

  const byHour = await answer(app, apiKey, { from: '2026-11-20T10:00:00Z', to: '2026-11-20T12:00:00Z', group_by: 'level' })
  t.same(byHour.buckets.map((bucket) => bucket.counts), [
    [{ value: 'error', count: 2 }, { value: 'info', count: 2 }, { value: 'warn', count: 1 }],
    [{ value: 'debug', count: 1 }]
  ], 'by hour, grouped by level')

  const byDay = await answer(app, apiKey, { from: '2026-11-20T00:00:00Z', to: '2026-11-22T00:00:00Z', interval: 'day', group_by: 'environment' })
  t.same(byDay.buckets, [
    {
      start: '2026-11-20T00:00:00.000Z',
      counts: [{ value: 'production', count: 4 }, { value: 'dev', count: 1 }, { value: 'staging', count: 1 }],
      other: 0,
      total: 6
    },
    { start: '2026-11-21T00:00:00.000Z', counts: [{ value: 'dev', count: 1 }], other: 0, total: 1 }
  ], 'by day, grouped by environment')

  const byWorkflow = await answer(app, apiKey, { from: '2026-11-20T00:00:00Z', to: '2026-11-22T00:00:00Z', interval: 'day', group_by: 'workflow_id' })
  t.same(byWorkflow.buckets.map((bucket) => bucket.counts), [
    [{ value: 'wf-a', count: 3 }, { value: 'wf-b', count: 2 }, { value: 'wf-c', count: 1 }],
    [{ value: null, count: 1 }]
  ], 'a log without workflow_id counts under null')

  const ungrouped = await answer(app, apiKey, { from: '2026-11-20T00:00:00Z', to: '2026-11-22T00:00:00Z', interval: 'day' })
  t.same(ungrouped.buckets.map((bucket) => [bucket.counts, bucket.other, bucket.total]), [[[], 0, 6], [[], 0, 1]], 'without group_by: totals only')
})

void t.test('every filter of the listing, q included, narrows the counts', async (t) => {
  const { app } = await buildTestApp(t)
  const { apiKey } = await issueKey(app, 'acme')
  await post(app, apiKey, [
    { executed_at: '2026-11-20T10:00:00Z', status: 'SUCCESS', level: 'info', environment: 'production', workflow_id: 'wf-a', run_id: 'run-1', message: 'Nightly export finished' },
    { executed_at: '2026-11-20T10:05:00Z', status: 'failure', level: 'error', environment: 'production', workflow_id: 'wf-a', run_id: 'run-1', message: 'export FAILED: disk full' },
    { executed_at: '2026-11-20T11:10:00Z', status: 'Success', level: 'info', environment: 'staging', workflow_id: 'wf-b', run_id: 'run-2', message: '100% done' },
    { executed_at: '2026-11-20T11:15:00Z', status: 'RUNNING', level: 'debug', environment: 'staging', workflow_id: 'wf-a', run_id: 'run-2', message: 'file_name missing' },
    { executed_at: '2026-11-20T12:20:00Z', status: 'FAILURE', level: 'error', environment: 'production', workflow_id: 'wf-c', run_id: 'run-3', message: 'Export retried' }
  ].map((log) => entry(log)))
  const range = { from: '2026-11-20T10:00:00Z', to: '2026-11-20T13:00:00Z' }

  const cases: Array<[string, Query, Record<string, number>]> = [
    ['no filter', {}, { '2026-11-20T10:00:00.000Z': 2, '2026-11-20T11:00:00.000Z': 2, '2026-11-20T12:00:00.000Z': 1 }],
    ['status, case-insensitive', { status: 'Failure' }, { '2026-11-20T10:00:00.000Z': 1, '2026-11-20T12:00:00.000Z': 1 }],
    ['level', { level: 'info' }, { '2026-11-20T10:00:00.000Z': 1, '2026-11-20T11:00:00.000Z': 1 }],
    ['environment', { environment: 'staging' }, { '2026-11-20T11:00:00.000Z': 2 }],
    ['workflow_id', { workflow_id: 'wf-a' }, { '2026-11-20T10:00:00.000Z': 2, '2026-11-20T11:00:00.000Z': 1 }],
    ['run_id', { run_id: 'run-2' }, { '2026-11-20T11:00:00.000Z': 2 }],
    ['q, case-insensitive', { q: 'EXPORT' }, { '2026-11-20T10:00:00.000Z': 2, '2026-11-20T12:00:00.000Z': 1 }],
    ['q with a literal %', { q: '100%' }, { '2026-11-20T11:00:00.000Z': 1 }],
    ['q with a literal _', { q: 'file_name' }, { '2026-11-20T11:00:00.000Z': 1 }],
    ['filters combined', { workflow_id: 'wf-a', level: 'error', q: 'disk' }, { '2026-11-20T10:00:00.000Z': 1 }],
    ['filters that exclude each other', { environment: 'staging', run_id: 'run-1' }, {}]
  ]
  for (const [label, filters, expected] of cases) {
    const body = await answer(app, apiKey, { ...range, ...filters })
    t.equal(body.buckets.length, 3, `${label}: every bucket listed`)
    t.same(totals(body), expected, label)
  }

  const grouped = await answer(app, apiKey, { ...range, q: 'export', group_by: 'status' })
  t.same(grouped.buckets.map((bucket) => bucket.counts), [
    [{ value: 'FAILURE', count: 1 }, { value: 'SUCCESS', count: 1 }],
    [],
    [{ value: 'FAILURE', count: 1 }]
  ], 'a filter and group_by together')
})

void t.test('to defaults to now and from to 24 hours before to; from must be before to', async (t) => {
  const { app } = await buildTestApp(t)
  const { apiKey } = await issueKey(app, 'acme')
  const now = Date.now()
  await post(app, apiKey, [
    at(new Date(now - 60 * 60_000).toISOString()),
    at(new Date(now - 25 * 60 * 60_000).toISOString()), // more than a day ago: outside the default range
    at('2026-11-19T12:00:00Z'), at('2026-11-20T11:59:00Z')
  ])

  const before = Date.now()
  const byDefault = await answer(app, apiKey)
  const after = Date.now()
  const to = Date.parse(byDefault.to)
  t.ok(to >= before && to <= after, 'to is the time of the request')
  t.equal(to - Date.parse(byDefault.from), 24 * 60 * 60_000, 'from is 24 hours before to')
  t.equal(byDefault.interval, 'hour', 'interval defaults to hour')
  t.equal(byDefault.group_by, null)
  t.ok(byDefault.buckets.length === 24 || byDefault.buckets.length === 25, 'a day by hour, its first bucket truncated when from is not on the hour')
  t.equal(sumOf(byDefault), 1, 'only the log of the last day')

  const toOnly = await answer(app, apiKey, { to: '2026-11-20T12:00:00Z' })
  t.equal(toOnly.from, '2026-11-19T12:00:00.000Z', 'from is 24 hours before the given to')
  t.equal(sumOf(toOnly), 2)

  const fromOnly = await answer(app, apiKey, { from: new Date(now - 2 * 60 * 60_000).toISOString(), interval: 'minute' })
  t.ok(Date.parse(fromOnly.to) >= before, 'with from alone, to is now')
  t.equal(sumOf(fromOnly), 1)

  for (const [label, query] of [
    ['from equal to to', { from: '2026-11-20T10:00:00Z', to: '2026-11-20T10:00:00Z' }],
    ['from after to', { from: '2026-11-20T11:00:00Z', to: '2026-11-20T10:00:00Z' }],
    ['from in the future, to by default', { from: new Date(now + 60 * 60_000).toISOString() }],
    ['to more than a day before now, from after it', { from: '2026-11-20T10:00:00Z', to: '2026-11-20T09:59:59.999Z' }]
  ] as Array<[string, Query]>) {
    const body = expectError(t, await stats(app, apiKey, query), 400, 'invalid_request')
    t.match(body.message, /from must be before to/, `${label}: says so`)
  }
})

void t.test('at most 1,500 buckets: the answer names the limit and an interval that fits', async (t) => {
  const { app } = await buildTestApp(t)
  const { apiKey } = await issueKey(app, 'acme')
  await post(app, apiKey, [at('2026-11-20T00:00:00Z'), at('2026-11-21T00:59:59.999Z')])

  // 1,500 minutes is 25 hours.
  const exactly = await answer(app, apiKey, { from: '2026-11-20T00:00:00Z', to: '2026-11-21T01:00:00Z', interval: 'minute' })
  t.equal(exactly.buckets.length, 1500, 'exactly 1,500 buckets pass')
  t.equal(sumOf(exactly), 2)
  t.equal(exactly.buckets.at(-1)?.start, '2026-11-21T00:59:00.000Z')

  const over = expectError(t, await stats(app, apiKey, { from: '2026-11-20T00:00:00Z', to: '2026-11-21T01:00:00.001Z', interval: 'minute' }), 400, 'too_many_buckets')
  t.match(over.message, /1,501 buckets, more than 1,500: use interval=hour or narrow from\/to/)
  t.same(over.details, { buckets: 1501, limit: 1500, interval: 'minute', fitting_interval: 'hour' })

  // The first bucket starts at from truncated: 25 hours from half a minute past count 1,501 minutes.
  const unaligned = expectError(t, await stats(app, apiKey, { from: '2026-11-20T00:00:30Z', to: '2026-11-21T01:00:30Z', interval: 'minute' }), 400, 'too_many_buckets')
  t.match(unaligned.message, /^25 hours by minute is 1,501 buckets/)

  const month = expectError(t, await stats(app, apiKey, { from: '2026-11-01T00:00:00Z', to: '2026-12-01T00:00:00Z', interval: 'minute' }), 400, 'too_many_buckets')
  t.equal(month.message, '30 days by minute is 43,200 buckets, more than 1,500: use interval=hour or narrow from/to.')
  const year = expectError(t, await stats(app, apiKey, { from: '2026-01-01T00:00:00Z', to: '2027-01-01T00:00:00Z' }), 400, 'too_many_buckets')
  t.equal(year.message, '365 days by hour is 8,760 buckets, more than 1,500: use interval=day or narrow from/to.')
  const decade = expectError(t, await stats(app, apiKey, { from: '2020-01-01T00:00:00Z', to: '2030-01-01T00:00:00Z', interval: 'day' }), 400, 'too_many_buckets')
  t.equal(decade.message, '3,653 days by day is 3,653 buckets, more than 1,500: narrow from/to.', 'no interval fits: narrow the range')
  t.notOk('fitting_interval' in (decade.details as Record<string, unknown>))

  const hours = await answer(app, apiKey, { from: '2026-01-01T00:00:00Z', to: '2026-03-03T12:00:00Z' })
  t.equal(hours.buckets.length, 1476, 'hours up to the limit pass')
})

void t.test('interval and group_by take their listed values only; unknown parameters are refused', async (t) => {
  const { app } = await buildTestApp(t)
  const { apiKey } = await issueKey(app, 'acme')
  for (const [label, query, pattern] of [
    ['interval=week', { interval: 'week' }, /parameter "interval" must be one of "minute", "hour", "day"/],
    ['interval=Hour', { interval: 'Hour' }, /"interval" must be one of/],
    ['empty interval', { interval: '' }, /"interval" must be one of/],
    ['group_by=run_id', { group_by: 'run_id' }, /parameter "group_by" must be one of "status", "level", "environment", "workflow_id"/],
    ['group_by=message', { group_by: 'message' }, /"group_by" must be one of/],
    ['empty group_by', { group_by: '' }, /"group_by" must be one of/],
    ['limit is not a parameter here', { limit: 10 }, /unknown parameter "limit"/],
    ['from not a date-time', { from: 'yesterday' }, /"from" must be a date and time/],
    ['a leap second', { to: '2026-12-31T23:59:60Z' }, /real point in time/],
    ['level not a level', { level: 'loud' }, /"level" must be one of/]
  ] as Array<[string, Query, RegExp]>) {
    const body = expectError(t, await stats(app, apiKey, query), 400, 'invalid_request')
    t.match(body.message, pattern, label)
  }

  const writeOnly = await issueKey(app, 'acme', { scopes: ['logs:write'] })
  expectError(t, await stats(app, writeOnly.apiKey), 403, 'insufficient_scope')
  expectError(t, await app.inject({ method: 'GET', url: '/api/v1/logs/stats' }), 401, 'missing_api_key')
})

void t.test('a bucket names its 10 most frequent values and counts the rest in other; null is a value', async (t) => {
  const { app } = await buildTestApp(t)
  const { apiKey } = await issueKey(app, 'acme')
  // In the 10:00 bucket: wf-00 fourteen times ... wf-13 once, and three logs without a workflow.
  const entries: Array<Record<string, unknown>> = []
  for (let workflow = 0; workflow < 14; workflow++) {
    for (let n = 0; n < 14 - workflow; n++) {
      entries.push(entry({ executed_at: `2026-11-20T10:${String(workflow).padStart(2, '0')}:00Z`, workflow_id: `wf-${String(workflow).padStart(2, '0')}` }))
    }
  }
  for (let n = 0; n < 3; n++) entries.push(entry({ executed_at: '2026-11-20T10:30:00Z' }))
  // In the 11:00 bucket: ties, broken by value, null last.
  for (const workflow of ['wf-b', 'wf-a', 'wf-b', 'wf-a', undefined, undefined]) {
    entries.push(entry({ executed_at: '2026-11-20T11:00:00Z', ...(workflow === undefined ? {} : { workflow_id: workflow }) }))
  }
  await post(app, apiKey, entries)

  const body = await answer(app, apiKey, { from: '2026-11-20T10:00:00Z', to: '2026-11-20T12:00:00Z', group_by: 'workflow_id' })
  const [busy, ties] = body.buckets as [StatsBucket, StatsBucket]
  t.equal(busy.counts.length, 10, 'ten values listed')
  t.same(busy.counts.map((count) => count.value), ['wf-00', 'wf-01', 'wf-02', 'wf-03', 'wf-04', 'wf-05', 'wf-06', 'wf-07', 'wf-08', 'wf-09'])
  t.same(busy.counts.map((count) => count.count), [14, 13, 12, 11, 10, 9, 8, 7, 6, 5])
  // Left out: wf-10 (4), wf-11 (3), null (3), wf-12 (2), wf-13 (1).
  t.equal(busy.other, 13, 'the rest counted together')
  t.equal(busy.total, 105 + 3, 'total counts every log of the bucket')
  t.equal(busy.counts.reduce((sum, count) => sum + count.count, 0) + busy.other, busy.total, 'listed and other make the total')
  t.same(ties, {
    start: '2026-11-20T11:00:00.000Z',
    counts: [{ value: 'wf-a', count: 2 }, { value: 'wf-b', count: 2 }, { value: null, count: 2 }],
    other: 0,
    total: 6
  }, 'equal counts in value order, null last')
})

void t.test('B\'s stats never count A\'s logs, while both write at once', async (t) => {
  const { app } = await buildTestApp(t)
  const a = await issueKey(app, 'tenant-a')
  const b = await issueKey(app, 'tenant-b')
  const shared = { environment: 'production', workflow_id: 'wf-shared', run_id: 'run-shared', status: 'FAILURE', level: 'error', message: 'nightly sync' }
  const batch = (count: number, minute: number) => Array.from({ length: count }, (_, n) =>
    entry({ ...shared, executed_at: `2026-11-20T10:${String(minute).padStart(2, '0')}:${String(n % 60).padStart(2, '0')}Z` }))
  const { message: _message, ...filters } = shared
  const query = { from: '2026-11-20T10:00:00Z', to: '2026-11-20T11:00:00Z', interval: 'minute', group_by: 'workflow_id', ...filters, status: 'failure', q: 'NIGHTLY' }

  const seen: number[] = []
  const writes: Array<Promise<void>> = []
  for (let round = 0; round < 10; round++) {
    writes.push(post(app, a.apiKey, batch(50, round)), post(app, b.apiKey, batch(3, round)))
    const body = await answer(app, b.apiKey, query)
    seen.push(sumOf(body))
    t.ok(body.buckets.every((bucket) => bucket.total <= 3), `round ${round}: no bucket of B's holds more than B wrote`)
  }
  await Promise.all(writes)
  t.ok(seen.every((total) => total % 3 === 0 && total <= 30), 'B counts only its own logs, whole batches')

  const bFinal = await answer(app, b.apiKey, query)
  t.equal(sumOf(bFinal), 30, 'B\'s own logs, all of them')
  t.same(bFinal.buckets.slice(0, 10).map((bucket) => bucket.counts), Array.from({ length: 10 }, () => [{ value: 'wf-shared', count: 3 }]))
  const aFinal = await answer(app, a.apiKey, query)
  t.equal(sumOf(aFinal), 500, 'and A\'s are A\'s')
})
