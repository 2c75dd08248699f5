// Live tail over real sockets: logs reach the tails of their own tenant
// alone, within the time a reader waits, from whichever instance stored them.
import type { FastifyInstance } from 'fastify'
import pg from 'pg'
import type { Test } from 'tap'
import t from 'tap'
import type { BatchResultBody, StoredLogBody } from '../../src/logs/schemas.ts'
import { buildTestApp, callApi, entry, expectError, issueKey, loopbackPort, postLogs } from '../helper.ts'
import { openTail, type SseEvent, type TailReader } from './sse-reader.ts'

async function listen (app: FastifyInstance): Promise<string> {
  return `http://127.0.0.1:${await loopbackPort(app)}`
}

async function tail (t: Test, base: string, apiKey: string, query = '', headers: Record<string, string> = {}): Promise<TailReader> {
  const reader = await openTail(base, apiKey, query, headers)
  t.teardown(() => { reader.close() })
  t.equal(reader.status, 200, `the tail${query} opens`)
  await reader.waitForComment(/^connected$/)
  return reader
}

async function post (app: FastifyInstance, apiKey: string, body: unknown): Promise<string[]> {
  const res = await postLogs(app, apiKey, body)
  if (res.statusCode !== 201) throw new Error(`ingest answered ${res.statusCode}: ${res.body}`)
  const answer = res.json<StoredLogBody | BatchResultBody>()
  return 'ids' in answer ? answer.ids as string[] : [answer.id]
}

const logOf = (event: SseEvent): StoredLogBody => JSON.parse(event.data!) as StoredLogBody

void t.test('a stored log reaches an open tail as an event with its id, in the listing\'s shape', async (t) => {
  const { app } = await buildTestApp(t)
  const base = await listen(app)
  const { apiKey } = await issueKey(app, 'acme')
  const reader = await tail(t, base, apiKey)
  t.match(reader.headers['content-type'], /^text\/event-stream/)
  t.equal(reader.headers['cache-control'], 'no-cache, no-store')

  const [id] = await post(app, apiKey, entry({ message: 'deployed', workflow_id: 'wf-1', attributes: { region: 'eu' } }))
  const [event] = await reader.waitForEvents(1)
  t.equal(event!.id, id)
  t.equal(event!.event, 'log')
  const listed = (await callApi(app, apiKey, 'GET', `/api/v1/logs/${id!}`)).json<StoredLogBody>()
  t.same(logOf(event!), listed, 'the event is the log as GET /api/v1/logs/:id shows it')
})

void t.test('a tail applies the listing\'s filters, q included, beyond ASCII', async (t) => {
  const { app } = await buildTestApp(t)
  const base = await listen(app)
  const { apiKey } = await issueKey(app, 'acme')
  const failures = await tail(t, base, apiKey, '?status=failure&q=%C3%9CBERWEISUNG')
  const staging = await tail(t, base, apiKey, '?environment=staging&from=2026-11-20T00:00:00Z&to=2026-11-21T00:00:00Z')
  await post(app, apiKey, [
    entry({ status: 'FAILURE', message: 'überweisung abgelehnt' }),
    entry({ status: 'SUCCESS', message: 'Überweisung gebucht' }),
    entry({ status: 'failure', message: 'other failure' }),
    entry({ environment: 'staging', executed_at: '2026-11-21T00:00:00.000Z', message: 'past to' }),
    entry({ environment: 'staging', executed_at: '2026-11-20T23:59:59.999Z', message: 'inside' })
  ])
  t.same((await failures.waitForEvents(1)).map((event) => logOf(event).message), ['überweisung abgelehnt'])
  t.same((await staging.waitForEvents(1)).map((event) => logOf(event).message), ['inside'])
  // A last log that every tail takes shows nothing else was on its way.
  await post(app, apiKey, entry({ status: 'FAILURE', environment: 'staging', message: 'Überweisung last' }))
  await failures.waitForEvents(2)
  await staging.waitForEvents(2)
  t.equal(failures.events.length, 2)
  t.equal(staging.events.length, 2)
})

void t.test('a tail never shows another tenant\'s log, with both writing at once', async (t) => {
  const { app } = await buildTestApp(t)
  const base = await listen(app)
  const acme = await issueKey(app, 'acme')
  const globex = await issueKey(app, 'globex')
  const acmeTail = await tail(t, base, acme.apiKey)
  const globexTail = await tail(t, base, globex.apiKey)
  const writes: Array<Promise<string[]>> = []
  for (let i = 0; i < 40; i++) {
    writes.push(post(app, acme.apiKey, entry({ message: `acme ${i}` })))
    writes.push(post(app, globex.apiKey, [entry({ message: `globex ${i}` }), entry({ message: `globex ${i} again` })]))
  }
  const written = await Promise.all(writes)
  const acmeIds = new Set(written.filter((_, i) => i % 2 === 0).flat())
  const globexIds = new Set(written.filter((_, i) => i % 2 === 1).flat())
  await acmeTail.waitForEvents(40)
  await globexTail.waitForEvents(80)
  t.ok(acmeTail.events.every((event) => acmeIds.has(event.id!) && logOf(event).message!.startsWith('acme')), 'acme sees its own logs alone')
  t.ok(globexTail.events.every((event) => globexIds.has(event.id!) && logOf(event).message!.startsWith('globex')), 'globex sees its own logs alone')
  t.equal(new Set(acmeTail.events.map((event) => event.id)).size, 40, 'each log once')
  t.equal(new Set(globexTail.events.map((event) => event.id)).size, 80)
})

void t.test('a log stored by one instance reaches the tails open on another', async (t) => {
  const first = await buildTestApp(t)
  const second = await buildTestApp(t, { DATABASE_URL: first.databaseUrl })
  const base = await listen(first.app)
  const { apiKey } = await issueKey(first.app, 'acme')
  const reader = await tail(t, base, apiKey)
  const started = Date.now()
  const [id] = await post(second.app, apiKey, entry({ message: 'from the other instance' }))
  const [event] = await reader.waitForEvents(1, 1000)
  t.equal(event!.id, id, 'within a second of its commit')
  t.ok(Date.now() - started < 1000)

  // A batch larger than one notification carries arrives whole, in id order.
  const ids = await post(second.app, apiKey, Array.from({ length: 450 }, (_, i) => entry({ message: `batch ${i}` })))
  const events = await reader.waitForEvents(451, 5000)
  t.same(events.slice(1).map((one) => one.id), [...ids].sort())
})

void t.test('Last-Event-ID resumes with the logs made since, each once, then live', async (t) => {
  const { app } = await buildTestApp(t)
  const base = await listen(app)
  const acme = await issueKey(app, 'acme')
  const globex = await issueKey(app, 'globex')
  const [first, second, third] = await post(app, acme.apiKey, [entry({ message: 'one' }), entry({ message: 'two' }), entry({ message: 'three', level: 'error' })])
  await post(app, globex.apiKey, entry({ message: 'not acme\'s' }))

  const resumed = await tail(t, base, acme.apiKey, '', { 'last-event-id': first! })
  t.same((await resumed.waitForEvents(2)).map((event) => event.id), [second, third], 'the logs after the last one received')
  const [fourth] = await post(app, acme.apiKey, entry({ message: 'four' }))
  t.equal((await resumed.waitForEvents(3))[2]!.id, fourth, 'then the live ones')

  const errorsOnly = await tail(t, base, acme.apiKey, '?level=error', { 'last-event-id': first! })
  t.same((await errorsOnly.waitForEvents(1)).map((event) => event.id), [third], 'the resume takes the filters too')

  // Another tenant's id as Last-Event-ID reveals nothing of theirs.
  const [theirs] = await post(app, globex.apiKey, entry({ message: 'globex later' }))
  const probing = await tail(t, base, acme.apiKey, '', { 'last-event-id': theirs! })
  const [fifth] = await post(app, acme.apiKey, entry({ message: 'five' }))
  t.same((await probing.waitForEvents(1)).map((event) => event.id), [fifth])
})

void t.test('a resume is bounded and says when it was cut short', async (t) => {
  const { app } = await buildTestApp(t, { TAIL_RESUME_MAX: '3' })
  const base = await listen(app)
  const { apiKey } = await issueKey(app, 'acme')
  const ids = await post(app, apiKey, Array.from({ length: 6 }, (_, i) => entry({ message: `m${i}` })))
  const reader = await tail(t, base, apiKey, '', { 'last-event-id': ids[0]! })
  t.same((await reader.waitForEvents(3)).map((event) => event.id), ids.slice(1, 4))
  await reader.waitForComment(/read the gap from GET \/api\/v1\/logs/)
})

void t.test('tails per client are capped, and a closed tail frees its place', async (t) => {
  const { app } = await buildTestApp(t, { TAIL_MAX_PER_CLIENT: '2' })
  const base = await listen(app)
  const acme = await issueKey(app, 'acme')
  const globex = await issueKey(app, 'globex')
  const one = await tail(t, base, acme.apiKey)
  await tail(t, base, acme.apiKey)
  const refused = expectError(t, await callApi(app, acme.apiKey, 'GET', '/api/v1/logs/tail'), 429, 'too_many_tails')
  t.match(refused, { details: { limit: 2 } })
  await tail(t, base, globex.apiKey)
  one.close()
  await one.ended
  // The server hears the close when the socket ends.
  for (let i = 0; i < 40 && app.tails.count(acme.clientId) > 1; i++) await new Promise((resolve) => setTimeout(resolve, 25))
  t.equal(app.tails.count(acme.clientId), 1)
  await tail(t, base, acme.apiKey)
})

void t.test('heartbeats keep an idle tail alive past the request timeout, and a stop ends every tail', async (t) => {
  const { app } = await buildTestApp(t, { TAIL_HEARTBEAT_MS: '100', REQUEST_TIMEOUT_MS: '300' })
  const base = await listen(app)
  const { apiKey } = await issueKey(app, 'acme')
  const reader = await tail(t, base, apiKey)
  await reader.waitForComment(/^heartbeat$/, 1000)
  // REQUEST_TIMEOUT_MS bounds how long a request takes to arrive, not how long its answer streams.
  await new Promise((resolve) => setTimeout(resolve, 1000))
  const [id] = await post(app, apiKey, entry({ message: 'still there' }))
  t.equal((await reader.waitForEvents(1))[0]!.id, id, 'a log still arrives after three request timeouts')
  await app.close()
  await reader.ended
  t.pass('the stream ended when the service stopped')
})

void t.test('what a tail refuses', async (t) => {
  const { app } = await buildTestApp(t)
  const writer = await issueKey(app, 'acme', { scopes: ['logs:write'] })
  const reader = await issueKey(app, 'acme', { scopes: ['logs:read'] })
  expectError(t, await callApi(app, writer.apiKey, 'GET', '/api/v1/logs/tail'), 403, 'insufficient_scope')
  const badId = await app.inject({ method: 'GET', url: '/api/v1/logs/tail', headers: { 'x-api-key': reader.apiKey, 'last-event-id': 'yesterday' } })
  t.match(expectError(t, badId, 400, 'invalid_request').message, /last-event-id/)
  t.match(expectError(t, await callApi(app, reader.apiKey, 'GET', '/api/v1/logs/tail?level=loud'), 400, 'invalid_request').message, /"level" must be one of/)
  t.match(expectError(t, await callApi(app, reader.apiKey, 'GET', '/api/v1/logs/tail?limit=5'), 400, 'invalid_request').message, /unknown parameter "limit"/)
})

void t.test('a replayed event_id is not announced again', async (t) => {
  const { app } = await buildTestApp(t)
  const base = await listen(app)
  const { apiKey } = await issueKey(app, 'acme')
  const reader = await tail(t, base, apiKey)
  const [id] = await post(app, apiKey, entry({ event_id: 'evt-1', message: 'once' }))
  await post(app, apiKey, entry({ event_id: 'evt-1', message: 'once' }))
  const [next] = await post(app, apiKey, entry({ message: 'next' }))
  t.same((await reader.waitForEvents(2)).map((event) => event.id), [id, next])
})

void t.test('a tail ends as soon as its key is revoked, on the instance that hears it', async (t) => {
  const first = await buildTestApp(t)
  const second = await buildTestApp(t, { DATABASE_URL: first.databaseUrl })
  const base = await listen(first.app)
  const reader = await issueKey(first.app, 'acme', { scopes: ['logs:read', 'logs:write'] })
  const admin = await issueKey(first.app, 'acme', { scopes: ['keys:manage', 'logs:read', 'logs:write'] })
  const other = await tail(t, base, reader.apiKey)
  const revoked = await callApi(second.app, admin.apiKey, 'DELETE', `/api/v1/keys/${reader.keyId}`)
  t.equal(revoked.statusCode, 200, revoked.body)
  await other.waitForComment(/^closed: the key no longer allows reading logs/, 2000)
  await other.ended
  t.equal(first.app.tails.count(reader.clientId), 0, 'its place is given back')
})

void t.test('a tail refused while it resumes leaves no place taken', async (t) => {
  const { app, databaseUrl } = await buildTestApp(t, { QUERY_CONCURRENCY_PER_CLIENT: '1' })
  const { apiKey, clientId } = await issueKey(app, 'acme')
  const [first] = await post(app, apiKey, entry({ message: 'one' }))
  // The client's one query slot, held by a listing that waits on a lock.
  const holder = new pg.Client({ connectionString: databaseUrl })
  await holder.connect()
  t.teardown(async () => { await holder.end() })
  await holder.query('begin')
  await holder.query('lock table logs in access exclusive mode')
  const waiting = callApi(app, apiKey, 'GET', '/api/v1/logs')
  while ((await holder.query('select count(*)::int as n from pg_locks where not granted')).rows[0].n === 0) await new Promise((resolve) => setTimeout(resolve, 20))
  for (let i = 0; i < 3; i++) {
    const res = await app.inject({ method: 'GET', url: '/api/v1/logs/tail', headers: { 'x-api-key': apiKey, 'last-event-id': first! } })
    expectError(t, res, 429, 'too_many_queries')
  }
  t.equal(app.tails.count(clientId), 0, 'the refused tails hold no place')
  await holder.query('rollback')
  t.equal((await waiting).statusCode, 200)
})
