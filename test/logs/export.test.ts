// GET /api/v1/logs/export through app.inject: what an export holds, in what
// order and form, and its errors before the first byte. Its streaming over a
// real socket (memory, back-pressure, disconnects, timeouts) is in
// test/slow/export-stream.test.ts.
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { sql } from 'kysely'
import t from 'tap'
import type { BatchResultBody, LogPageBody, StoredLogBody } from '../../src/logs/schemas.ts'
import { PUBLIC_COLUMNS } from '../../src/logs/tenant-logs.ts'
import { buildTestApp, entry, expectError, issueKey, postLogs } from '../helper.ts'
import { parseCsv } from './csv-parse.ts'

type Query = Record<string, string>

async function postBatch (app: FastifyInstance, apiKey: string, entries: Array<Record<string, unknown>>): Promise<string[]> {
  const res = await postLogs(app, apiKey, entries)
  if (res.statusCode !== 201) throw new Error(`ingest answered ${res.statusCode}: ${res.body}`)
  return res.json<BatchResultBody>().ids as string[]
}

async function exportLogs (app: FastifyInstance, apiKey: string, query: Query = {}, method: 'GET' | 'HEAD' = 'GET'): Promise<LightMyRequestResponse> {
  const search = new URLSearchParams(query)
  return await app.inject({ method, url: `/api/v1/logs/export${search.size === 0 ? '' : `?${search.toString()}`}`, headers: { 'x-api-key': apiKey } })
}

function ndjson (res: LightMyRequestResponse): StoredLogBody[] {
  if (res.body !== '' && !res.body.endsWith('\n')) throw new Error('the last line does not end with a newline')
  return res.body.split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as StoredLogBody)
}

/** Every log of the client, as GET /api/v1/logs gives them, oldest first. */
async function listed (app: FastifyInstance, apiKey: string, query: Query = {}): Promise<StoredLogBody[]> {
  const search = new URLSearchParams({ ...query, order: 'asc', limit: '1000' })
  const res = await app.inject({ method: 'GET', url: `/api/v1/logs?${search.toString()}`, headers: { 'x-api-key': apiKey } })
  const page = res.json<LogPageBody>()
  if (page.next_cursor !== null) throw new Error('more than one page')
  return page.data
}

/** A CSV record read back into the document NDJSON gives. */
function fromCsv (header: Array<string | null>, record: Array<string | null>): Record<string, unknown> {
  return Object.fromEntries(header.map((column, index) => {
    const cell = record[index]
    if (cell === undefined || column === null) throw new Error(`record lacks ${String(column)}`)
    if (cell === null) return [column, null]
    if (column === 'attributes') return [column, JSON.parse(cell) as unknown]
    if (column === 'duration_ms') return [column, Number(cell)]
    return [column, cell]
  }))
}

const ROWS: Record<string, Record<string, unknown>> = {
  r0: { executed_at: '2026-11-20T10:00:00.000Z', status: 'SUCCESS', level: 'info', environment: 'production', workflow_id: 'wf-a', run_id: 'run-1', message: 'Nightly export finished', duration_ms: 12.5 },
  r1: { executed_at: '2026-11-20T10:05:00.000Z', status: 'failure', level: 'error', environment: 'production', workflow_id: 'wf-a', run_id: 'run-1', message: 'export FAILED: disk full, "sdb1"', attributes: { host: 'db-1', tags: ['a', 'b'], nested: { n: 1 } } },
  r2: { executed_at: '2026-11-20T10:10:00.000Z', status: 'Success', level: 'info', environment: 'staging', workflow_id: 'wf-b', run_id: 'run-2', message: '100% done\r\nsecond line', step: 'copy' },
  r3: { executed_at: '2026-11-20T10:15:00.000Z', status: 'RUNNING', level: 'debug', environment: 'staging', workflow_id: 'wf-a', run_id: 'run-2', message: '=HYPERLINK("http://x","y")', trace_id: 't-3' },
  r4: { executed_at: '2026-11-20T10:20:00.000Z', status: 'SKIPPED', level: 'warn', environment: 'production', workflow_id: 'wf-c', run_id: 'run-3', message: 'file_name missing', event_id: 'evt-4' },
  r5: { executed_at: '2026-11-20T10:20:00.000Z', status: 'SUCCESS', level: 'info', environment: 'production', workflow_id: 'wf-c', run_id: 'run-3', message: 'Überweisung geprüft, ünïcödé ✓' },
  r6: { executed_at: '2026-11-20T10:30:00.000Z', status: 'SUCCESS', level: 'fatal', environment: 'dev', workflow_id: 'wf-b', run_id: 'run-4', message: '', step: '' },
  r7: { executed_at: '2026-11-20T10:35:00.000Z', status: 'FAILURE', level: 'error', environment: 'production', workflow_id: 'wf-a', run_id: 'run-1', message: 'Export retried', attributes: { quote: 'a "b", c\nd' } }
}

void t.test('an export is every log of the caller, oldest first, as the listing shows it, in NDJSON and CSV', async (t) => {
  const { app } = await buildTestApp(t)
  const { apiKey } = await issueKey(app, 'acme')
  const other = await issueKey(app, 'other')
  const names = Object.keys(ROWS)
  // Posted newest first, so that insertion order cannot pass for time order.
  await postBatch(app, apiKey, [...names].reverse().map((name) => entry(ROWS[name])))
  await postBatch(app, other.apiKey, [entry({ message: 'not acme\'s' })])
  const expected = await listed(app, apiKey)
  t.equal(expected.length, names.length)

  const before = Date.now()
  const res = await exportLogs(app, apiKey)
  t.equal(res.statusCode, 200)
  t.equal(res.headers['content-type'], 'application/x-ndjson')
  t.equal(res.headers['transfer-encoding'], 'chunked', 'streamed, its length not known in advance')
  const disposition = String(res.headers['content-disposition'])
  const stamp = /^attachment; filename="logs-(\d{8}T\d{6}Z)\.ndjson"$/.exec(disposition)?.[1]
  t.ok(stamp, `an attachment named by the time of the export: ${disposition}`)
  const at = Date.parse(`${stamp!.slice(0, 4)}-${stamp!.slice(4, 6)}-${stamp!.slice(6, 8)}T${stamp!.slice(9, 11)}:${stamp!.slice(11, 13)}:${stamp!.slice(13, 15)}Z`)
  t.ok(at >= Math.floor(before / 1000) * 1000 && at <= Date.now(), 'the time is now, in UTC')
  const lines = ndjson(res)
  t.same(lines, expected, 'the same documents, in the same order, as GET /api/v1/logs?order=asc')
  const sameTime = lines.filter((log) => log.executed_at === '2026-11-20T10:20:00.000Z').map((log) => log.id)
  t.same(sameTime, [...sameTime].sort(), 'two logs at one time, in id order')
  t.same(Object.keys(lines[0]!), [...PUBLIC_COLUMNS], 'the public columns only')

  const desc = ndjson(await exportLogs(app, apiKey, { order: 'desc' }))
  t.same(desc, [...expected].reverse(), 'order=desc: newest first')
  t.same(ndjson(await exportLogs(app, apiKey, { format: 'ndjson', order: 'asc' })), expected, 'format and order named')

  const csv = await exportLogs(app, apiKey, { format: 'csv' })
  t.equal(csv.statusCode, 200)
  t.equal(csv.headers['content-type'], 'text/csv; charset=utf-8')
  t.match(csv.headers['content-disposition'], /^attachment; filename="logs-\d{8}T\d{6}Z\.csv"$/)
  t.ok(csv.body.endsWith('\r\n'), 'records end with CRLF')
  const [header, ...records] = parseCsv(csv.body)
  t.same(header, [...PUBLIC_COLUMNS], 'a header record of the public columns')
  t.same(records.map((record) => fromCsv(header!, record)), expected, 'read back, the same logs in the same order')
  t.match(csv.body, /\r\n[^\r\n]*,"=HYPERLINK\(""http:\/\/x"",""y""\)",/, 'a formula is written as it is, only quoted as RFC 4180 asks')
  t.match(csv.body, /,"",wf-b,,run-4,"",/, 'an empty message and step are an empty quoted field, a null an empty one')
  t.same(parseCsv((await exportLogs(app, apiKey, { format: 'csv', order: 'desc' })).body).slice(1).map((record) => record[0]),
    [...expected].reverse().map((log) => log.id), 'csv, newest first')
})

void t.test('times held to the microsecond and any attributes are written as the listing writes them, byte for byte', async (t) => {
  const { app } = await buildTestApp(t)
  const key = await issueKey(app, 'acme')
  // Stored by SQL, not ingest: times past the millisecond (as received_at's now() is), a year's first and last
  // instants, and attributes whose text PostgreSQL writes otherwise than JSON.stringify (spacing, key order, numbers).
  const attributes = JSON.stringify({ b: 1, 10: 'ten', 2: [0.1, -0, 1e21, 1e-7, 123456789012345680000], a: { 'é"\\\n': null, z: true }, s: 'line\nbreak\u0001 ✓' })
  await sql`insert into logs (client_id, id, environment, executed_at, status, level, message, attributes, received_at, key_id)
    values (${key.clientId}::uuid, gen_random_uuid(), 'production', '2026-11-20T10:00:00.999999Z', 'SUCCESS', 'info', 'a', ${attributes}::jsonb, '2026-11-20T10:00:01.123456Z', ${key.keyId}::uuid),
      (${key.clientId}::uuid, gen_random_uuid(), 'production', '2026-12-31T23:59:59.9995Z', 'SUCCESS', 'info', null, null, '2027-01-01T00:00:00.000001Z', ${key.keyId}::uuid),
      (${key.clientId}::uuid, gen_random_uuid(), 'production', '0001-01-01T00:00:00Z', 'SUCCESS', 'info', 'first', '{}', '9999-12-31T23:59:59.999Z', ${key.keyId}::uuid)`.execute(app.db)
  const expected = await listed(app, key.apiKey)
  t.equal(expected.length, 3)
  t.same(expected.map((log) => log.executed_at), ['0001-01-01T00:00:00.000Z', '2026-11-20T10:00:00.999Z', '2026-12-31T23:59:59.999Z'], 'times cut to the millisecond')
  const res = await exportLogs(app, key.apiKey)
  t.equal(res.body, expected.map((log) => `${JSON.stringify(log)}\n`).join(''), 'each line is the listing\'s document as JSON.stringify writes it')
  const [header, ...records] = parseCsv((await exportLogs(app, key.apiKey, { format: 'csv' })).body)
  t.same(records.map((record) => fromCsv(header!, record)), expected, 'csv')
  t.same(records.map((record) => record[header!.indexOf('attributes')]), expected.map((log) => log.attributes === null ? null : JSON.stringify(log.attributes)),
    'csv attributes as JSON.stringify writes them')
})

void t.test('every filter, alone and combined, exports what the listing lists', async (t) => {
  const { app } = await buildTestApp(t)
  const { apiKey } = await issueKey(app, 'acme')
  await postBatch(app, apiKey, Object.values(ROWS).map((row) => entry(row)))
  const cases: Query[] = [
    { from: '2026-11-20T10:10:00.000Z' },
    { from: '2026-11-20T11:20:00+01:00' },
    { to: '2026-11-20T10:10:00Z' },
    { from: '2026-11-20T10:05:00Z', to: '2026-11-20T10:25:00Z' },
    { from: '2026-11-20T10:10:00Z', to: '2026-11-20T10:10:00Z' },
    { status: 'failure' },
    { status: 'SUCCESS' },
    { level: 'error' },
    { environment: 'staging' },
    { workflow_id: 'wf-a' },
    { run_id: 'run-3' },
    { q: 'EXPORT' },
    { q: '100%' },
    { q: '_' },
    { q: 'überweisung' },
    { q: 'nothing like it' },
    { workflow_id: 'wf-a', status: 'failure', level: 'error', q: 'retried', from: '2026-11-20T10:00:00Z', to: '2026-11-20T11:00:00Z', environment: 'production', run_id: 'run-1' }
  ]
  for (const query of cases) {
    const label = JSON.stringify(query)
    const expected = await listed(app, apiKey, query)
    const res = await exportLogs(app, apiKey, query)
    t.equal(res.statusCode, 200, `${label}: 200`)
    t.same(ndjson(res), expected, `${label}: ndjson, ${expected.length} logs`)
    const [header, ...records] = parseCsv((await exportLogs(app, apiKey, { ...query, format: 'csv' })).body)
    t.same(records.map((record) => fromCsv(header!, record)), expected, `${label}: csv`)
  }
  const none = await exportLogs(app, apiKey, { q: 'nothing like it', format: 'csv' })
  t.equal(none.body, `${PUBLIC_COLUMNS.join(',')}\r\n`, 'an empty CSV export is its header record')
  t.equal((await exportLogs(app, apiKey, { q: 'nothing like it' })).body, '', 'an empty NDJSON export is empty')
})

void t.test('an export longer than a page, or than a page\'s bytes, is every log once, in order', async (t) => {
  // 100 KiB pages: rows of 30 KiB come three to a page.
  const { app } = await buildTestApp(t, { MAX_PAGE_BYTES: String(100 * 1024) })
  const { apiKey } = await issueKey(app, 'acme')
  const base = Date.parse('2026-11-20T00:00:00.000Z')
  // 2,500 rows (two and a half pages of 1,000), a tenth of them at one instant, so that pages end inside equal times.
  for (let start = 0; start < 2500; start += 500) {
    await postBatch(app, apiKey, Array.from({ length: 500 }, (_, i) => {
      const n = start + i
      return entry({ executed_at: new Date(base + (n % 10 === 0 ? 0 : n) * 1000).toISOString(), message: `row ${n}`, ...(n % 250 === 1 ? { attributes: { pad: 'x'.repeat(30 * 1024) } } : {}) })
    }))
  }
  for (const order of ['asc', 'desc'] as const) {
    const lines = ndjson(await exportLogs(app, apiKey, { order }))
    t.equal(lines.length, 2500, `${order}: every log`)
    t.equal(new Set(lines.map((log) => log.id)).size, 2500, `${order}: each once`)
    const sorted = [...lines].sort((a, b) => (Date.parse(a.executed_at) - Date.parse(b.executed_at)) || (a.id < b.id ? -1 : 1))
    t.same(lines.map((log) => log.id), (order === 'asc' ? sorted : sorted.reverse()).map((log) => log.id), `${order}: in (executed_at, id) order`)
  }
})

void t.test('errors before the first byte are the usual JSON errors', async (t) => {
  const { app } = await buildTestApp(t)
  const { apiKey } = await issueKey(app, 'acme')
  const writer = await issueKey(app, 'acme', { scopes: ['logs:write'] })
  for (const [label, query] of [
    ['format not a format', { format: 'xlsx' }],
    ['order not an order', { order: 'sideways' }],
    ['from not a date-time', { from: 'yesterday' }],
    ['level not a level', { level: 'loud' }],
    ['empty q', { q: '' }],
    ['q with NUL', { q: 'a\u0000b' }],
    ['a listing parameter', { limit: '10' }],
    ['a cursor', { cursor: 'abc' }],
    ['an unknown parameter', { stauts: 'failure' }]
  ] as Array<[string, Query]>) {
    const body = expectError(t, await exportLogs(app, apiKey, query), 400, 'invalid_request')
    t.ok(body.message.length > 0, label)
  }
  const unknown = expectError(t, await exportLogs(app, apiKey, { stauts: 'failure' }), 400, 'invalid_request')
  t.match(unknown.message, /format/, 'an unknown parameter names the ones the route takes')
  expectError(t, await app.inject({ method: 'GET', url: '/api/v1/logs/export' }), 401, 'missing_api_key')
  expectError(t, await exportLogs(app, writer.apiKey), 403, 'insufficient_scope')
})

void t.test('HEAD answers the headers without reading a log', async (t) => {
  const { app } = await buildTestApp(t)
  const { apiKey } = await issueKey(app, 'acme')
  const res = await exportLogs(app, apiKey, { format: 'csv' }, 'HEAD')
  t.equal(res.statusCode, 200)
  t.equal(res.headers['content-type'], 'text/csv; charset=utf-8')
  t.equal(res.body, '')
})

void t.test('the export is in the OpenAPI document, with both forms of its answer', async (t) => {
  const { app } = await buildTestApp(t)
  const spec = app.swagger() as unknown as { paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, unknown> }> }>> }
  const operation = spec.paths['/api/v1/logs/export']?.get
  t.ok(operation, 'documented')
  t.same(Object.keys(operation?.responses['200']?.content ?? {}).sort(), ['application/x-ndjson', 'text/csv'])
  t.ok(operation?.responses['429'] !== undefined && operation.responses['503'] !== undefined, 'its query-limit errors too')
})

void t.test('with A and B writing at once, B\'s export holds B\'s logs only', async (t) => {
  const { app } = await buildTestApp(t)
  const a = await issueKey(app, 'tenant-a')
  const b = await issueKey(app, 'tenant-b')
  const batch = (tenant: string, round: number) => Array.from({ length: 50 }, (_, i) =>
    entry({ executed_at: new Date(Date.parse('2026-11-20T10:00:00Z') + i * 1000).toISOString(), message: `${tenant} sync ${round}-${i}`, workflow_id: 'wf-shared' }))
  const exports: LightMyRequestResponse[] = []
  const aIds: string[] = []
  const bIds: string[] = []
  // Each round's writes of both tenants and B's export at once; one export at a time, within B's query limit.
  for (let round = 0; round < 6; round++) {
    const [aNew, bNew, during] = await Promise.all([
      postBatch(app, a.apiKey, batch('A', round)),
      postBatch(app, b.apiKey, batch('B', round)),
      exportLogs(app, b.apiKey, { workflow_id: 'wf-shared', q: 'sync' })
    ])
    aIds.push(...aNew)
    bIds.push(...bNew)
    exports.push(during)
  }
  for (const res of exports) {
    t.equal(res.statusCode, 200)
    const found = ndjson(res)
    t.notOk(found.some((log) => log.message?.startsWith('A ') === true || aIds.includes(log.id)), `an export during the writes holds none of A's (${found.length} logs)`)
  }
  const after = ndjson(await exportLogs(app, b.apiKey))
  t.same(after.map((log) => log.id).sort(), [...bIds].sort(), 'after the writes, exactly B\'s logs')
})
