// Every listing is bounded: a page of logs whose rows carry large messages
// and attributes ends before MAX_PAGE_BYTES of text and attributes (a page of
// one row may pass it),
// with a next_cursor that continues exactly where it stopped, in both orders;
// the audit trail's pages are bounded the same way by their details; and the
// key listing, which had no bound at all, is paged.
import type { FastifyInstance } from 'fastify'
import pg from 'pg'
import t, { type Test } from 'tap'
import { appendAuditEvents } from '../src/audit/store.ts'
import type { KeyListBody } from '../src/keys/schemas.ts'
import { createKey } from '../src/keys/store.ts'
import { buildTestApp, callApi, entry, expectError, issueKey, postLogs } from './helper.ts'

const MAX_PAGE_BYTES = 100_000
const BIG = 60_000

interface Page<T> { data: T[], next_cursor: string | null }

/** Follows next_cursor to the end (200 pages at most, so a cursor that stops advancing fails rather than loops). */
async function walk<T> (app: FastifyInstance, apiKey: string, url: string): Promise<Array<Page<T>>> {
  const pages: Array<Page<T>> = []
  let cursor: string | null = null
  for (let page = 0; page < 200; page++) {
    const res = await callApi(app, apiKey, 'GET', cursor === null ? url : `${url}&cursor=${encodeURIComponent(cursor)}`)
    if (res.statusCode !== 200) throw new Error(`page ${page} answered ${res.statusCode}: ${res.body}`)
    const body = res.json<Page<T>>()
    pages.push(body)
    if (body.next_cursor === null) return pages
    cursor = body.next_cursor
  }
  throw new Error('pagination did not end after 200 pages')
}

/** What each row weighs as the database counts it, by id. */
async function rowBytes (databaseUrl: string, sql: string): Promise<Map<string, number>> {
  const client = new pg.Client({ connectionString: databaseUrl })
  await client.connect()
  try {
    const { rows } = await client.query<{ id: string, bytes: number }>(sql)
    return new Map(rows.map((row) => [String(row.id), row.bytes]))
  } finally {
    await client.end()
  }
}

/** Each page holds at most maxBytes unless it is one row, and ends only where the next row would not have fitted. */
function checkCuts (t: Test, pages: Array<{ ids: string[], more: boolean }>, order: string[], bytes: Map<string, number>, limit: number): void {
  let at = 0
  for (const [index, page] of pages.entries()) {
    const total = page.ids.reduce((sum, id) => sum + bytes.get(id)!, 0)
    t.ok(page.ids.length === 1 || total <= MAX_PAGE_BYTES, `page ${index}: ${page.ids.length} rows, ${total} bytes`)
    at += page.ids.length
    const next = order[at]
    if (page.more && page.ids.length < limit) {
      t.ok(next !== undefined && total + bytes.get(next)! > MAX_PAGE_BYTES, `page ${index} ends only where the next row would not fit`)
    }
  }
}

// One app for the file: both tests need only the small budget.
const shared = buildTestApp(t, { MAX_PAGE_BYTES: String(MAX_PAGE_BYTES) })

void t.test('a listing of large rows is cut into pages of at most MAX_PAGE_BYTES that continue without gaps or repeats', async (t) => {
  const { app, databaseUrl } = await shared
  const { apiKey } = await issueKey(app, 'acme')
  // Runs of small rows between rows of a 60 KB message and 60 KB attributes,
  // each of which is over the budget alone; two rows share each instant, so
  // the id decides their order.
  const entries = Array.from({ length: 24 }, (_, index) => {
    const big = index % 4 === 3
    return entry({
      executed_at: new Date(Date.UTC(2026, 10, 20, 10, Math.floor(index / 2))).toISOString(),
      message: big ? `${index} ${'m'.repeat(BIG)}` : `small ${index} ${'s'.repeat(20_000)}`,
      ...(big ? { attributes: { blob: 'a'.repeat(BIG) } } : {})
    })
  })
  for (let start = 0; start < entries.length; start += 8) {
    const res = await postLogs(app, apiKey, entries.slice(start, start + 8))
    t.equal(res.statusCode, 201)
  }
  const text = ['event_id', 'environment', 'status', 'message', 'workflow_id', 'workflow_name', 'run_id', 'step', 'trace_id']
  const bytes = await rowBytes(databaseUrl, `select id, ${text.map((column) => `coalesce(octet_length(${column}), 0)`).join(' + ')} +
    coalesce(octet_length(attributes::text), 0) as bytes from logs`)

  for (const order of ['desc', 'asc'] as const) {
    const everything = await rowBytes(databaseUrl, `select id, 0 as bytes from logs order by executed_at ${order}, id ${order}`)
    const expected = [...everything.keys()]
    for (const limit of [1000, 3]) {
      const pages = await walk<{ id: string }>(app, apiKey, `/api/v1/logs?order=${order}&limit=${limit}`)
      const ids = pages.flatMap((page) => page.data.map((log) => log.id))
      t.same(ids, expected, `order=${order}, limit=${limit}: every row once, in order, across ${pages.length} pages`)
      checkCuts(t, pages.map((page) => ({ ids: page.data.map((log) => log.id), more: page.next_cursor !== null })), expected, bytes, limit)
      if (limit === 1000) {
        t.ok(pages.some((page) => page.data.length === 1 && bytes.get(page.data[0]!.id)! > MAX_PAGE_BYTES), 'a row over the budget alone is a page')
        t.ok(pages.some((page) => page.data.length > 1), 'small rows share a page')
      }
    }
  }

  // With filters and a cursor together, the cut still continues exactly.
  const filtered = await walk<{ id: string, message: string }>(app, apiKey, '/api/v1/logs?order=asc&q=small')
  t.same(filtered.flatMap((page) => page.data.map((log) => log.message.split(' ')[1])),
    entries.map((_, index) => String(index)).filter((index) => Number(index) % 4 !== 3))
})

void t.test('the audit trail\'s pages are bounded by the bytes of their details', async (t) => {
  const { app, databaseUrl } = await shared
  const admin = await issueKey(app, 'auditor', { scopes: ['keys:manage'] })
  await appendAuditEvents(app.db, Array.from({ length: 12 }, (_, index) => ({
    event: 'client.updated' as const,
    clientId: admin.clientId,
    actor: 'cli:test',
    details: { note: String(index).padEnd(index % 3 === 0 ? BIG : 30_000, '.') }
  })))
  const mine = `where client_id = '${admin.clientId}'`
  const bytes = await rowBytes(databaseUrl, `select id, coalesce(octet_length(details::text), 0) as bytes from audit_events ${mine}`)
  const expected = [...(await rowBytes(databaseUrl, `select id, 0 as bytes from audit_events ${mine} order by id desc`)).keys()]

  const pages = await walk<{ id: string }>(app, admin.apiKey, '/api/v1/audit?limit=1000')
  t.same(pages.flatMap((page) => page.data.map((event) => event.id)), expected, 'every event once, newest first')
  t.ok(pages.length > 1, `cut into ${pages.length} pages`)
  checkCuts(t, pages.map((page) => ({ ids: page.data.map((event) => event.id), more: page.next_cursor !== null })), expected, bytes, 1000)
})

void t.test('keys come a page at a time, oldest first, each once, and a cursor names one of the caller\'s keys', async (t) => {
  const { app } = await shared
  const admin = await issueKey(app, 'many keys', { scopes: ['keys:manage'] })
  // In one transaction: the keys share created_at, and their ids decide the order.
  await app.db.transaction().execute(async (trx) => {
    for (let i = 0; i < 104; i++) await createKey(trx, { clientId: admin.clientId, scopes: ['logs:write'], name: `k${i}` })
  })
  const other = await issueKey(app, 'other', { scopes: ['keys:manage'] })
  const expected = (await app.db.selectFrom('api_keys').select('id').where('client_id', '=', admin.clientId)
    .orderBy('created_at').orderBy('id').execute()).map((key) => key.id)

  const first = await callApi(app, admin.apiKey, 'GET', '/api/v1/keys')
  t.equal(first.statusCode, 200)
  const firstPage = first.json<KeyListBody>()
  t.equal(firstPage.data.length, 100, '100 keys by default')
  t.not(firstPage.next_cursor, null)
  const rest = (await callApi(app, admin.apiKey, 'GET', `/api/v1/keys?cursor=${firstPage.next_cursor!}`)).json<KeyListBody>()
  t.same([...firstPage.data, ...rest.data].map((key) => key.id), expected, 'the second page holds the rest')
  t.equal(rest.next_cursor, null, 'and is the last')

  const walked: string[] = []
  let cursor: string | null = null
  for (let page = 0; page < 30; page++) {
    const res = await callApi(app, admin.apiKey, 'GET', `/api/v1/keys?limit=7${cursor === null ? '' : `&cursor=${cursor}`}`)
    const body = res.json<KeyListBody>()
    walked.push(...body.data.map((key) => key.id))
    cursor = body.next_cursor
    if (cursor === null) break
  }
  t.same(walked, expected, 'pages of 7 hold every key once, in order')

  expectError(t, await callApi(app, admin.apiKey, 'GET', `/api/v1/keys?cursor=${other.keyId}`), 400, 'invalid_cursor')
  expectError(t, await callApi(app, admin.apiKey, 'GET', '/api/v1/keys?cursor=not-a-key'), 400, 'invalid_request')
  expectError(t, await callApi(app, admin.apiKey, 'GET', '/api/v1/keys?limit=1001'), 400, 'invalid_request')
})
