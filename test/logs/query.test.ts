import { randomUUID } from 'node:crypto'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import t from 'tap'
import type { ErrorBody } from '../../src/errors.ts'
import type { BatchResultBody, LogPageBody, StoredLogBody } from '../../src/logs/schemas.ts'
import { buildTestApp, entry, issueKey, postLogs, callApi, expectError } from '../helper.ts'

type Query = Record<string, string | number>

async function postBatch (app: FastifyInstance, apiKey: string, entries: Array<Record<string, unknown>>): Promise<string[]> {
  const res = await postLogs(app, apiKey, entries)
  if (res.statusCode !== 201) throw new Error(`ingest answered ${res.statusCode}: ${res.body}`)
  // Outside partial mode a 201 means every entry was stored, so no id is null.
  return res.json<BatchResultBody>().ids as string[]
}

async function list (app: FastifyInstance, apiKey: string, query: Query = {}): Promise<LightMyRequestResponse> {
  const search = new URLSearchParams(Object.entries(query).map(([name, value]): [string, string] => [name, String(value)]))
  const suffix = search.size === 0 ? '' : `?${search.toString()}`
  return await app.inject({ method: 'GET', url: `/api/v1/logs${suffix}`, headers: { 'x-api-key': apiKey } })
}

/** Follows next_cursor to the end; a cursor that stops advancing fails the walk instead of looping. */
async function walk (app: FastifyInstance, apiKey: string, query: Query): Promise<{ ids: string[], pageSizes: number[] }> {
  const ids: string[] = []
  const pageSizes: number[] = []
  let cursor: string | null = null
  for (let page = 0; page < 200; page++) {
    const res = await list(app, apiKey, cursor === null ? query : { ...query, cursor })
    if (res.statusCode !== 200) throw new Error(`page ${page} answered ${res.statusCode}: ${res.body}`)
    const body = res.json<LogPageBody>()
    ids.push(...body.data.map((log) => log.id))
    pageSizes.push(body.data.length)
    if (body.next_cursor === null) return { ids, pageSizes }
    cursor = body.next_cursor
  }
  throw new Error('pagination did not end after 200 pages')
}

/** The order the API promises: executed_at, then id (uuid order is the order of its lowercase hex). */
function sortedIds (logs: Array<{ id: string, executed_at: string }>, order: 'asc' | 'desc'): string[] {
  const sign = order === 'asc' ? 1 : -1
  return [...logs].sort((a, b) => {
    const byTime = Date.parse(a.executed_at) - Date.parse(b.executed_at)
    if (byTime !== 0) return sign * byTime
    return sign * (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
  }).map((log) => log.id)
}

function ids (res: LightMyRequestResponse): string[] {
  return res.json<LogPageBody>().data.map((log) => log.id)
}

void t.test('a listing is {data, next_cursor}, newest first by default and oldest first with order=asc', async (t) => {
  const { app } = await buildTestApp(t)
  const { apiKey } = await issueKey(app, 'acme')
  // Posted out of time order so that insertion order cannot pass for time order.
  const [middle, newest, oldest] = await postBatch(app, apiKey, [
    entry({ executed_at: '2026-11-20T10:05:00.000Z', message: 'middle' }),
    entry({ executed_at: '2026-11-20T10:10:00.000Z', message: 'newest' }),
    entry({ executed_at: '2026-11-20T10:00:00.000Z', message: 'oldest' })
  ])

  const res = await list(app, apiKey)
  t.equal(res.statusCode, 200)
  const body = res.json<LogPageBody>()
  t.same(Object.keys(body).sort(), ['data', 'next_cursor'])
  t.same(body.data.map((log) => log.id), [newest, middle, oldest], 'newest first')
  t.equal(body.next_cursor, null, 'one page only')
  t.match(body.data[0], {
    id: newest,
    environment: 'production',
    executed_at: '2026-11-20T10:10:00.000Z',
    status: 'SUCCESS',
    level: 'info',
    message: 'newest'
  })
  t.notOk('client_id' in (body.data[0] ?? {}), 'the tenant column is not exposed')

  const single = await app.inject({ method: 'GET', url: `/api/v1/logs/${newest}`, headers: { 'x-api-key': apiKey } })
  t.same(body.data[0], single.json(), 'a listed log is the same document as the log fetched by id')

  t.same(ids(await list(app, apiKey, { order: 'desc' })), [newest, middle, oldest])
  t.same(ids(await list(app, apiKey, { order: 'asc' })), [oldest, middle, newest], 'oldest first')

  const bad = await list(app, apiKey, { order: 'sideways' })
  t.equal(bad.statusCode, 400)
  t.equal(bad.json<ErrorBody>().code, 'invalid_request')
})

void t.test('filters narrow the listing alone and combined', async (t) => {
  const { app } = await buildTestApp(t)
  const { apiKey } = await issueKey(app, 'acme')
  const rows: Record<string, Record<string, unknown>> = {
    r0: { executed_at: '2026-11-20T10:00:00.000Z', status: 'SUCCESS', level: 'info', environment: 'production', workflow_id: 'wf-a', run_id: 'run-1', message: 'Nightly export finished' },
    r1: { executed_at: '2026-11-20T10:05:00.000Z', status: 'failure', level: 'error', environment: 'production', workflow_id: 'wf-a', run_id: 'run-1', message: 'export FAILED: disk full' },
    r2: { executed_at: '2026-11-20T10:10:00.000Z', status: 'Success', level: 'info', environment: 'staging', workflow_id: 'wf-b', run_id: 'run-2', message: '100% done' },
    r3: { executed_at: '2026-11-20T10:15:00.000Z', status: 'RUNNING', level: 'debug', environment: 'staging', workflow_id: 'wf-a', run_id: 'run-2', message: 'progress 100 of 200' },
    r4: { executed_at: '2026-11-20T10:20:00.000Z', status: 'SKIPPED', level: 'warn', environment: 'production', workflow_id: 'wf-c', run_id: 'run-3', message: 'file_name missing' },
    r5: { executed_at: '2026-11-20T10:25:00.000Z', status: 'SUCCESS', level: 'info', environment: 'production', workflow_id: 'wf-c', run_id: 'run-3', message: 'fileXname checked' },
    r6: { executed_at: '2026-11-20T10:30:00.000Z', status: 'SUCCESS', level: 'fatal', environment: 'dev', workflow_id: 'wf-b', run_id: 'run-4' },
    r7: { executed_at: '2026-11-20T10:35:00.000Z', status: 'FAILURE', level: 'error', environment: 'production', workflow_id: 'wf-a', run_id: 'run-1', message: 'Export retried' },
    r8: { executed_at: '2026-11-20T10:40:00.000Z', status: 'SUCCESS', level: 'info', environment: 'production', workflow_id: 'wf-d', run_id: 'run-5', message: 'copied to C:\\temp\\out' }
  }
  const names = Object.keys(rows)
  const stored = await postBatch(app, apiKey, names.map((name) => entry(rows[name])))
  const idOf = new Map(names.map((name, index) => [name, stored[index]!]))
  const nameOf = new Map(names.map((name, index) => [stored[index]!, name]))

  // Expected rows are listed oldest first; the default listing is newest first.
  const cases: Array<[string, Query, string[]]> = [
    ['no filter', {}, names],
    ['from is inclusive', { from: '2026-11-20T10:10:00.000Z' }, ['r2', 'r3', 'r4', 'r5', 'r6', 'r7', 'r8']],
    ['from with a time zone offset', { from: '2026-11-20T11:30:00+01:00' }, ['r6', 'r7', 'r8']],
    ['to is exclusive', { to: '2026-11-20T10:10:00.000Z' }, ['r0', 'r1']],
    ['from and to', { from: '2026-11-20T10:05:00Z', to: '2026-11-20T10:25:00Z' }, ['r1', 'r2', 'r3', 'r4']],
    ['from equal to to is empty', { from: '2026-11-20T10:10:00Z', to: '2026-11-20T10:10:00Z' }, []],
    ['status upper-case', { status: 'FAILURE' }, ['r1', 'r7']],
    ['status matched case-insensitively', { status: 'failure' }, ['r1', 'r7']],
    ['status mixed case', { status: 'sUcCeSs' }, ['r0', 'r2', 'r5', 'r6', 'r8']],
    ['status is not a prefix match', { status: 'SUCC' }, []],
    ['level', { level: 'error' }, ['r1', 'r7']],
    ['environment', { environment: 'staging' }, ['r2', 'r3']],
    ['workflow_id', { workflow_id: 'wf-a' }, ['r0', 'r1', 'r3', 'r7']],
    ['run_id', { run_id: 'run-2' }, ['r2', 'r3']],
    ['q is a case-insensitive substring', { q: 'export' }, ['r0', 'r1', 'r7']],
    ['q upper-case', { q: 'EXPORT' }, ['r0', 'r1', 'r7']],
    ['q in the middle of a word', { q: 'ailed: disk' }, ['r1']],
    ['q with a literal %', { q: '100%' }, ['r2']],
    ['q of only %', { q: '%' }, ['r2']],
    ['q with a literal _', { q: 'file_name' }, ['r4']],
    ['q of only _', { q: '_' }, ['r4']],
    ['q with a backslash', { q: 'C:\\temp' }, ['r8']],
    ['q never matches a log without message', { q: 'null' }, []],
    ['workflow, status and level', { workflow_id: 'wf-a', status: 'failure', level: 'error' }, ['r1', 'r7']],
    ['workflow, status, level and q', { workflow_id: 'wf-a', status: 'failure', level: 'error', q: 'RETRIED' }, ['r7']],
    ['workflow and from', { workflow_id: 'wf-a', from: '2026-11-20T10:06:00Z' }, ['r3', 'r7']],
    ['every filter at once', {
      environment: 'production',
      workflow_id: 'wf-a',
      run_id: 'run-1',
      status: 'Failure',
      level: 'error',
      q: 'export',
      from: '2026-11-20T10:00:00Z',
      to: '2026-11-20T10:35:00Z'
    }, ['r1']],
    ['filters that exclude each other', { environment: 'staging', run_id: 'run-1' }, []]
  ]

  for (const [label, query, expected] of cases) {
    const desc = await list(app, apiKey, query)
    t.equal(desc.statusCode, 200, `${label}: 200`)
    t.same(ids(desc).map((id) => nameOf.get(id)), [...expected].reverse(), `${label}: newest first`)
    const asc = await list(app, apiKey, { ...query, order: 'asc' })
    t.same(ids(asc).map((id) => nameOf.get(id)), expected, `${label}: oldest first`)
  }

  const failure = (await list(app, apiKey, { status: 'failure' })).json<LogPageBody>().data
  t.same(failure.map((log) => log.status), ['FAILURE', 'FAILURE'], 'status is returned as stored, upper-cased')
  t.equal(idOf.get('r7'), failure[0]?.id)

  for (const [label, query] of [
    ['from not a date-time', { from: 'yesterday' }],
    ['to without a time zone', { to: '2026-11-20T10:00:00' }],
    ['level not a level', { level: 'loud' }],
    ['empty q', { q: '' }]
  ] as Array<[string, Query]>) {
    const res = await list(app, apiKey, query)
    t.equal(res.statusCode, 400, `${label}: 400`)
    t.equal(res.json<ErrorBody>().code, 'invalid_request', `${label}: invalid_request`)
  }
})

void t.test('limit defaults to 100 and must be 1 to 1000; unknown parameters are refused', async (t) => {
  const { app } = await buildTestApp(t)
  const { apiKey } = await issueKey(app, 'acme')
  const base = Date.parse('2026-11-20T00:00:00.000Z')
  await postBatch(app, apiKey, Array.from({ length: 150 }, (_, index) =>
    entry({ executed_at: new Date(base + index * 1000).toISOString(), message: `row ${index}` })))

  const byDefault = (await list(app, apiKey)).json<LogPageBody>()
  t.equal(byDefault.data.length, 100, 'default page size')
  t.type(byDefault.next_cursor, 'string', 'more rows follow')
  t.equal(byDefault.data[0]?.message, 'row 149')

  t.equal((await list(app, apiKey, { limit: 1 })).json<LogPageBody>().data.length, 1)
  const all = (await list(app, apiKey, { limit: 1000 })).json<LogPageBody>()
  t.equal(all.data.length, 150)
  t.equal(all.next_cursor, null)
  const exact = (await list(app, apiKey, { limit: 150 })).json<LogPageBody>()
  t.equal(exact.data.length, 150)
  t.equal(exact.next_cursor, null, 'a page that ends exactly on the last row has no next cursor')

  for (const [label, query] of [
    ['limit=0', { limit: 0 }],
    ['limit=1001', { limit: 1001 }],
    ['limit=-1', { limit: -1 }],
    ['limit=abc', { limit: 'abc' }],
    ['limit=1.5', { limit: '1.5' }],
    ['unknown parameter', { foo: 'bar' }],
    ['misspelt filter', { workflow: 'wf-a' }],
    ['filter named as a column that is not filterable', { client_id: randomUUID() }]
  ] as Array<[string, Query]>) {
    const res = await list(app, apiKey, query)
    t.equal(res.statusCode, 400, `${label}: 400`)
    const body = res.json<ErrorBody>()
    t.equal(body.code, 'invalid_request', `${label}: invalid_request`)
    t.match(body, { statusCode: 400, error: 'Bad Request', message: String }, `${label}: the error shape`)
  }
})

void t.test('keyset pagination visits every row exactly once, also among rows with the same executed_at', async (t) => {
  const { app } = await buildTestApp(t)
  const { apiKey } = await issueKey(app, 'acme')
  const tie = '2026-11-20T12:00:00.000Z'
  const entries: Array<Record<string, unknown>> = []
  for (let i = 0; i < 30; i++) entries.push(entry({ executed_at: tie, status: i % 3 === 0 ? 'FAILURE' : 'SUCCESS', message: `tie ${i}` }))
  // Neighbours one millisecond away catch a cursor that loses precision.
  entries.push(entry({ executed_at: '2026-11-20T11:59:59.999Z', message: 'just before' }))
  entries.push(entry({ executed_at: '2026-11-20T12:00:00.001Z', message: 'just after' }))
  for (let i = 0; i < 9; i++) {
    entries.push(entry({ executed_at: new Date(Date.parse(tie) + (i - 4) * 60_000).toISOString(), status: 'failure', message: `spread ${i}` }))
  }
  // Several requests, so ids are not in the same order as the rows' times.
  await postBatch(app, apiKey, entries.slice(20))
  await postBatch(app, apiKey, entries.slice(0, 20))

  const everything = (await list(app, apiKey, { limit: 1000 })).json<LogPageBody>().data
  t.equal(everything.length, entries.length)

  for (const order of ['desc', 'asc'] as const) {
    for (const limit of [1, 7, 30, 41]) {
      const { ids: walked, pageSizes } = await walk(app, apiKey, { order, limit })
      t.same(walked, sortedIds(everything, order), `order=${order} limit=${limit}: every row once, in order`)
      t.equal(new Set(walked).size, entries.length, `order=${order} limit=${limit}: no row twice`)
      t.ok(pageSizes.slice(0, -1).every((size) => size === limit), `order=${order} limit=${limit}: full pages before the last`)
    }

    // The filter is not part of the cursor: it must be passed again and still hold.
    const failures = everything.filter((log) => log.status === 'FAILURE')
    const { ids: walked } = await walk(app, apiKey, { order, limit: 4, status: 'failure' })
    t.same(walked, sortedIds(failures, order), `order=${order}: a filtered walk sees only and all the matching rows`)
  }
})

void t.test('a cursor that is altered or used with the other order is refused', async (t) => {
  const { app } = await buildTestApp(t)
  const { apiKey } = await issueKey(app, 'acme')
  await postBatch(app, apiKey, Array.from({ length: 5 }, (_, index) => entry({ executed_at: `2026-11-20T10:0${index}:00.000Z` })))

  const first = (await list(app, apiKey, { limit: 2 })).json<LogPageBody>()
  const cursor = first.next_cursor
  if (cursor === null) throw new Error('expected a second page')
  t.equal((await list(app, apiKey, { limit: 2, cursor })).statusCode, 200, 'the cursor as issued works')

  const [data = '', signature = ''] = cursor.split('.')
  t.ok(data.length > 0 && signature.length > 0, 'a cursor has a payload and a signature')

  // Every single-character change, in either part, must be caught. The
  // replacement is another base64url character differing in the lowest bit of
  // its 6: in a final character that bit is padding, which a lenient decoder drops.
  const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
  const accepted: string[] = []
  const wrongCode: string[] = []
  for (let position = 0; position < cursor.length; position++) {
    const char = cursor[position]!
    if (char === '.') continue
    const replacement = ALPHABET[ALPHABET.indexOf(char) ^ 1]!
    const tampered = cursor.slice(0, position) + replacement + cursor.slice(position + 1)
    const res = await list(app, apiKey, { limit: 2, cursor: tampered })
    const where = `${position < data.length ? 'payload' : 'signature'} character ${position}`
    if (res.statusCode !== 400) accepted.push(`${where} (${char}→${replacement}) answered ${res.statusCode}`)
    else if (res.json<ErrorBody>().code !== 'invalid_cursor') wrongCode.push(`${where}: ${res.json<ErrorBody>().code}`)
  }
  t.same(accepted, [], 'no altered cursor is accepted')
  t.same(wrongCode, [], 'every altered cursor is refused as invalid_cursor')

  for (const [label, bad] of [
    ['payload only', data],
    ['signature only', `.${signature}`],
    ['an extra part', `${cursor}.${signature}`],
    ['signature cut short', cursor.slice(0, -2)],
    ['signature of another payload', `${data.slice(0, -4)}AAAA.${signature}`],
    ['not base64url at all', '!!!.???']
  ]) {
    const res = await list(app, apiKey, { limit: 2, cursor: bad! })
    t.equal(res.statusCode, 400, `${label}: 400`)
    t.equal(res.json<ErrorBody>().code, 'invalid_cursor', `${label}: invalid_cursor`)
  }

  const otherOrder = await list(app, apiKey, { limit: 2, order: 'asc', cursor })
  t.equal(otherOrder.statusCode, 400, 'a desc cursor with order=asc')
  t.equal(otherOrder.json<ErrorBody>().code, 'invalid_cursor')
  const ascCursor = (await list(app, apiKey, { limit: 2, order: 'asc' })).json<LogPageBody>().next_cursor
  if (ascCursor === null) throw new Error('expected a second page')
  const backwards = await list(app, apiKey, { limit: 2, cursor: ascCursor })
  t.equal(backwards.statusCode, 400, 'an asc cursor with the default order')
  t.equal(backwards.json<ErrorBody>().code, 'invalid_cursor')
})

void t.test('GET /api/v1/logs/:id returns the log, and 404 for an unknown or malformed id', async (t) => {
  const { app } = await buildTestApp(t)
  const { apiKey } = await issueKey(app, 'acme')
  const posted = await postLogs(app, apiKey, entry({ event_id: 'evt-1', status: 'running', message: 'hello', workflow_id: 'wf-1', custom: 42 }))
  t.equal(posted.statusCode, 201)
  const log = posted.json<StoredLogBody>()

  const res = await app.inject({ method: 'GET', url: `/api/v1/logs/${log.id}`, headers: { 'x-api-key': apiKey } })
  t.equal(res.statusCode, 200)
  t.same(res.json(), log, 'the stored log, as ingest answered it')
  t.match(res.json<StoredLogBody>(), { id: log.id, event_id: 'evt-1', status: 'RUNNING', message: 'hello', workflow_id: 'wf-1', attributes: { custom: 42 } })

  const upper = await app.inject({ method: 'GET', url: `/api/v1/logs/${log.id.toUpperCase()}`, headers: { 'x-api-key': apiKey } })
  t.equal(upper.statusCode, 200, 'a uuid in upper case is the same id')
  t.equal(upper.json<StoredLogBody>().id, log.id)

  const missing = await app.inject({ method: 'GET', url: `/api/v1/logs/${randomUUID()}`, headers: { 'x-api-key': apiKey } })
  t.equal(missing.statusCode, 404)
  t.same(missing.json(), { statusCode: 404, error: 'Not Found', code: 'not_found', message: 'Log not found.' })

  for (const malformed of ['not-a-uuid', '123', `${log.id.slice(0, -1)}g`, encodeURIComponent("' or 1=1 --")]) {
    const bad = await app.inject({ method: 'GET', url: `/api/v1/logs/${malformed}`, headers: { 'x-api-key': apiKey } })
    t.equal(bad.statusCode, 404, `${malformed}: 404`)
    t.same(bad.json(), missing.json(), `${malformed}: the same answer as an unknown id`)
  }
})

// A query that cannot be answered says what to send instead: the parameters
// the route takes, the values allowed, a time in the form expected.
const LIST_PARAMETERS = 'from, to, status, level, environment, workflow_id, run_id, q, limit, order, cursor'

void t.test('the query routes answer a mistake with what to send instead', async (t) => {
  const { app } = await buildTestApp(t)
  const { apiKey } = await issueKey(app, 'acme', { scopes: ['logs:read', 'keys:manage'] })
  const error = async (url: string): Promise<{ message: string, details: Array<{ field: string, message: string }> }> => {
    const body = expectError(t, await callApi(app, apiKey, 'GET', url), 400, 'invalid_request')
    return body as unknown as { message: string, details: Array<{ field: string, message: string }> }
  }

  t.match(await error('/api/v1/logs?stauts=FAILURE'), {
    message: `Invalid querystring: unknown parameter "stauts"; the querystring takes ${LIST_PARAMETERS}`,
    details: [{ field: 'querystring.stauts' }]
  }, 'a typo names the parameters the route takes')
  t.match(await error('/api/v1/logs?level=critical'), {
    message: 'Invalid querystring: parameter "level" must be one of "trace", "debug", "info", "warn", "error", "fatal"',
    details: [{ field: 'querystring.level' }]
  }, 'an enum lists its values')
  t.match((await error('/api/v1/logs?order=newest')).message, /parameter "order" must be one of "desc", "asc"$/)
  t.match(await error('/api/v1/logs?from=yesterday'), {
    message: 'Invalid querystring: parameter "from" must be a date and time with a time zone, such as 2026-11-01T00:00:00Z'
  }, 'a malformed time gives an example')
  t.match((await error('/api/v1/logs?to=2026-12-31T23:59:60Z')).message, /to must be a real point in time \(not a leap second\), such as 2026-11-01T00:00:00Z/)
  t.match((await error('/api/v1/logs?limit=lots')).message, /parameter "limit" must be integer/)

  // A route that takes no parameter says so; the other routes name theirs.
  const someId = '00000000-0000-7000-8000-000000000000'
  t.match(await error(`/api/v1/logs/${someId}?pretty=1`), {
    message: 'Invalid querystring: unknown parameter "pretty": this route takes none'
  })
  t.match((await error('/api/v1/keys?colour=red')).message, /unknown parameter "colour"; the querystring takes .*\blimit\b/)
})

void t.test('a body field that is not taken names the fields that are', async (t) => {
  const { app } = await buildTestApp(t)
  const { apiKey } = await issueKey(app, 'acme', { scopes: ['keys:manage'] })
  const body = expectError(t, await callApi(app, apiKey, 'POST', '/api/v1/keys', { name: 'ci', owner: 'someone' }), 400, 'invalid_request')
  t.match(body.message, /^Invalid body: unknown field "owner"; the body takes name, scopes/)
  t.match(body, { details: [{ field: 'body.owner' }] })
})
