import { randomUUID } from 'node:crypto'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import t, { type Test } from 'tap'
import type { AuditPageBody } from '../src/audit/routes.ts'
import type { ErrorBody } from '../src/errors.ts'
import type { CreatedKeyBody, KeyListBody, KeyViewBody } from '../src/keys/schemas.ts'
import type { BatchResultBody, LogPageBody, StoredLogBody } from '../src/logs/schemas.ts'
import type { StatsAnswerBody } from '../src/logs/stats-schemas.ts'
import type { UsageReportBody } from '../src/usage/routes.ts'
import type { CreatedWebhookBody, WebhookListBody, WebhookViewBody } from '../src/webhooks/schemas.ts'
import { buildTestApp, callApi, entry, issueKey, loopbackPort, postLogs, type IssuedKey } from './helper.ts'
import { openTail } from './tail/sse-reader.ts'

/** Values both tenants use, so that only the client_id can tell their rows apart. */
const SHARED = {
  environment: 'production',
  workflow_id: 'wf-shared',
  run_id: 'run-shared',
  status: 'FAILURE',
  level: 'error'
} as const

const FILTERS_ON_SHARED_VALUES = {
  ...SHARED,
  status: 'failure',
  q: 'nightly sync',
  from: '2026-11-20T10:00:00.000Z',
  to: '2026-11-20T11:00:00.000Z'
}

interface World {
  app: FastifyInstance
  a: IssuedKey
  b: IssuedKey
  /** Each tenant's key with every scope, keys:manage included. */
  aAdmin: IssuedKey
  bAdmin: IssuedKey
  /** A's logs, by event_id. */
  aIds: Map<string, string>
  bIds: string[]
}

async function get (app: FastifyInstance, apiKey: string, url: string): Promise<LightMyRequestResponse> {
  return await app.inject({ method: 'GET', url, headers: { 'x-api-key': apiKey } })
}

function listUrl (query: Record<string, string | number>): string {
  return `/api/v1/logs?${new URLSearchParams(Object.entries(query).map(([name, value]): [string, string] => [name, String(value)])).toString()}`
}

async function buildWorld (t: Test): Promise<World> {
  // Usage and audit batches are written only when a check says so.
  const { app } = await buildTestApp(t, { USAGE_FLUSH_SECONDS: '300' })
  const a = await issueKey(app, 'tenant-a')
  const b = await issueKey(app, 'tenant-b')
  const aAdmin = await issueKey(app, 'tenant-a', { name: 'a admin', scopes: ['keys:manage', 'logs:write', 'logs:read'] })
  const bAdmin = await issueKey(app, 'tenant-b', { name: 'b admin', scopes: ['keys:manage', 'logs:write', 'logs:read'] })

  const aIds = new Map<string, string>()
  const first = await postLogs(app, a.apiKey,
    entry({ ...SHARED, event_id: 'evt-1', executed_at: '2026-11-20T10:00:00.000Z', message: 'A nightly sync 1' }))
  if (first.statusCode !== 201) throw new Error(`A's first log answered ${first.statusCode}: ${first.body}`)
  aIds.set('evt-1', first.json<StoredLogBody>().id)
  const aBatch = await postLogs(app, a.apiKey, ['evt-2', 'evt-3', 'evt-4'].map((eventId, index) =>
    entry({ ...SHARED, event_id: eventId, executed_at: `2026-11-20T10:0${index + 1}:00.000Z`, message: `A nightly sync ${index + 2}` })))
  // Outside partial mode a 201 means every entry was stored, so no id is null.
  const aBatchIds = aBatch.json<BatchResultBody>().ids as string[]
  aBatchIds.forEach((id, index) => aIds.set(`evt-${index + 2}`, id))
  // A row whose workflow only A uses: a filter for it must find nothing for B.
  const onlyA = await postLogs(app, a.apiKey,
    entry({ ...SHARED, workflow_id: 'wf-only-a', event_id: 'evt-only-a', message: 'A nightly sync alone' }))
  aIds.set('evt-only-a', onlyA.json<StoredLogBody>().id)

  const bBatch = await postLogs(app, b.apiKey, ['evt-1', 'evt-2'].map((eventId, index) =>
    entry({ ...SHARED, event_id: eventId, executed_at: `2026-11-20T10:0${index}:00.000Z`, message: `B nightly sync ${index + 1}` })))
  if (bBatch.statusCode !== 201) throw new Error(`B's batch answered ${bBatch.statusCode}: ${bBatch.body}`)
  t.same(bBatch.json<BatchResultBody>().duplicates, 0, 'B reusing A\'s event_ids is no duplicate')
  return { app, a, b, aAdmin, bAdmin, aIds, bIds: bBatch.json<BatchResultBody>().ids as string[] }
}

/** A's keys as A sees them, the keys' own state included: what B's attempts must leave as it was. */
async function aKeys (app: FastifyInstance, aAdmin: IssuedKey): Promise<KeyViewBody[]> {
  const res = await get(app, aAdmin.apiKey, '/api/v1/keys')
  if (res.statusCode !== 200) throw new Error(`A's key list answered ${res.statusCode}: ${res.body}`)
  // last_used_* change with every use, which is no change B made.
  return res.json<KeyListBody>().data.map(({ last_used_at: _at, last_used_address: _address, ...key }) => key as KeyViewBody)
}

/**
 * B tries one of the key routes on each of A's key ids (as written, in upper
 * case, and with allow_self): each answer is the 404 of a key that does not
 * exist, and A's keys and their use are as they were.
 */
async function tryAKeyIds (t: Test, { app, a, aAdmin, bAdmin }: World, method: 'GET' | 'PATCH' | 'DELETE' | 'POST',
  path: (id: string) => string, body?: unknown): Promise<void> {
  const before = await aKeys(app, aAdmin)
  const keysBefore = await app.db.selectFrom('api_keys').select('id').execute()
  const nonexistent = await callApi(app, bAdmin.apiKey, method, path(randomUUID()), body)
  t.equal(nonexistent.statusCode, 404, 'a key that does not exist: 404')
  for (const id of [a.keyId, aAdmin.keyId, a.keyId.toUpperCase()]) {
    for (const suffix of ['', '?allow_self=true']) {
      if (suffix !== '' && method !== 'DELETE' && method !== 'PATCH') continue
      const res = await callApi(app, bAdmin.apiKey, method, `${path(id)}${suffix}`, body)
      t.equal(res.statusCode, 404, `${method} ${path(id)}${suffix}: 404 for B, never 403 or 409`)
      t.same(res.json(), nonexistent.json(), 'the same body as for a key that does not exist')
      t.notOk(res.body.includes(a.clientId), 'without naming A')
    }
  }
  t.same(await aKeys(app, aAdmin), before, 'A\'s keys are as they were')
  t.equal((await app.db.selectFrom('api_keys').select('id').execute()).length, keysBefore.length, 'no key was made')
  t.equal((await get(app, a.apiKey, '/api/v1/logs')).statusCode, 200, 'A\'s key still works')
  t.equal((await get(app, aAdmin.apiKey, '/api/v1/keys')).statusCode, 200, 'and A\'s admin key')
}

/** An endpoint of A's. */
async function aWebhook (t: Test, app: FastifyInstance, aAdmin: IssuedKey): Promise<WebhookViewBody> {
  const res = await callApi(app, aAdmin.apiKey, 'POST', '/api/v1/webhooks', { url: 'https://a.example.com/hook' })
  t.equal(res.statusCode, 201, 'A makes an endpoint')
  return res.json<CreatedWebhookBody>().webhook
}

/** B tries a webhook route on A's endpoint id: the 404 of one that does not exist, and A's endpoint as it was. */
async function tryAWebhookIds (t: Test, { app, aAdmin, bAdmin }: World, method: 'GET' | 'DELETE', path: (id: string) => string): Promise<void> {
  const aHook = await aWebhook(t, app, aAdmin)
  const nonexistent = await callApi(app, bAdmin.apiKey, method, path(randomUUID()))
  t.equal(nonexistent.statusCode, 404)
  for (const id of [aHook.id, aHook.id.toUpperCase()]) {
    const res = await callApi(app, bAdmin.apiKey, method, path(id))
    t.equal(res.statusCode, 404, `${method} ${path(id)}: 404 for B`)
    t.same(res.json(), nonexistent.json(), 'the same body as for an endpoint that does not exist')
  }
  t.same((await get(app, aAdmin.apiKey, `/api/v1/webhooks/${aHook.id}`)).json(), aHook, 'A\'s endpoint is as it was')
}

/**
 * One entry per route under /api/v1: what tenant B tries against tenant A's
 * data through that route. A route missing here fails the coverage test below.
 */
const SWEEP: Record<string, (t: Test, world: World) => Promise<void>> = {
  'POST /api/v1/logs': async (t, { app, a, b, aIds }) => {
    const single = await postLogs(app, b.apiKey,
      entry({ ...SHARED, event_id: 'evt-3', message: 'B reuses A\'s evt-3' }))
    t.equal(single.statusCode, 201)
    t.notOk(single.headers['idempotent-replayed'], 'not answered as a replay of A\'s entry')
    const bLog = single.json<StoredLogBody>()
    t.not(bLog.id, aIds.get('evt-3'), 'a row of its own')
    t.equal(bLog.message, 'B reuses A\'s evt-3', 'B\'s content, not A\'s')

    const batch = await postLogs(app, b.apiKey, [entry({ ...SHARED, event_id: 'evt-4', message: 'B reuses A\'s evt-4' })])
    t.equal(batch.statusCode, 201)
    t.match(batch.json<BatchResultBody>(), { accepted: 1, duplicates: 0 }, 'counted as accepted, not as a duplicate')
    t.notOk([...aIds.values()].includes(batch.json<BatchResultBody>().ids[0]!), 'not A\'s id')

    const aView = await get(app, a.apiKey, `/api/v1/logs/${aIds.get('evt-3')!}`)
    t.equal(aView.json<StoredLogBody>().message, 'A nightly sync 3', 'A\'s row is untouched')
    const aReplay = await postLogs(app, a.apiKey, entry({ ...SHARED, event_id: 'evt-3', message: 'A again' }))
    t.equal(aReplay.headers['idempotent-replayed'], 'true', 'A\'s own event_id is still a replay for A')
    t.equal(aReplay.json<StoredLogBody>().id, aIds.get('evt-3'), 'with A\'s original row')

    // The tenant comes from the key only: a client_id in the body is data, kept in attributes.
    const spoof = await postLogs(app, b.apiKey,
      entry({ ...SHARED, client_id: a.clientId, message: 'B claims to be A' }))
    t.equal(spoof.statusCode, 201)
    const spoofed = spoof.json<StoredLogBody>()
    t.same(spoofed.attributes, { client_id: a.clientId }, 'kept in attributes')
    const owner = await app.db.selectFrom('logs').select(['client_id', 'key_id']).where('id', '=', spoofed.id).executeTakeFirstOrThrow()
    t.same(owner, { client_id: b.clientId, key_id: b.keyId }, 'the row belongs to B and its key')
    t.equal((await get(app, b.apiKey, `/api/v1/logs/${spoofed.id}`)).statusCode, 200, 'B reads it')
    t.equal((await get(app, a.apiKey, `/api/v1/logs/${spoofed.id}`)).statusCode, 404, 'A does not see it')
    const aList = (await get(app, a.apiKey, listUrl({ limit: 1000 }))).json<LogPageBody>()
    t.notOk(aList.data.some((log) => log.id === spoofed.id), 'nor list it')
  },

  'GET /api/v1/logs': async (t, { app, a, b, aIds, bIds }) => {
    const aIdList = [...aIds.values()]
    const everything = await get(app, b.apiKey, listUrl({ limit: 1000 }))
    t.equal(everything.statusCode, 200)
    t.same(everything.json<LogPageBody>().data.map((log) => log.id).sort(), [...bIds].sort(), 'B lists its own rows only')

    for (const order of ['desc', 'asc']) {
      const res = await get(app, b.apiKey, listUrl({ ...FILTERS_ON_SHARED_VALUES, order, limit: 1000 }))
      t.equal(res.statusCode, 200)
      const found = res.json<LogPageBody>().data.map((log) => log.id)
      t.same([...found].sort(), [...bIds].sort(), `order=${order}: every filter on A's values finds only B's rows`)
      t.same(found.filter((id) => aIdList.includes(id)), [], `order=${order}: none of A's ids`)
    }
    const aAlone = await get(app, b.apiKey, listUrl({ workflow_id: 'wf-only-a' }))
    t.same(aAlone.json<LogPageBody>(), { data: [], next_cursor: null }, 'a value only A uses finds nothing')

    // Page by page too: the cursor must not lead B's walk into A's rows.
    const walked: string[] = []
    let cursor: string | null = null
    do {
      const page: LogPageBody = (await get(app, b.apiKey, listUrl({ ...FILTERS_ON_SHARED_VALUES, limit: 1, ...(cursor === null ? {} : { cursor }) }))).json<LogPageBody>()
      walked.push(...page.data.map((log) => log.id))
      cursor = page.next_cursor
    } while (cursor !== null && walked.length <= aIds.size + bIds.length)
    t.same([...walked].sort(), [...bIds].sort(), 'a one-row-per-page walk sees B\'s rows only')

    for (const order of ['desc', 'asc']) {
      const aPage = (await get(app, a.apiKey, listUrl({ limit: 1, order }))).json<LogPageBody>()
      t.type(aPage.next_cursor, 'string', 'A has a next page')
      const stolen = await get(app, b.apiKey, listUrl({ limit: 1, order, cursor: aPage.next_cursor! }))
      t.equal(stolen.statusCode, 400, `order=${order}: A's cursor is refused to B`)
      t.equal(stolen.json<ErrorBody>().code, 'invalid_cursor')
      t.notOk(stolen.body.includes(a.clientId), 'without naming A')
    }
  },

  'GET /api/v1/logs/tail': async (t, { app, a, b, aIds, bIds }) => {
    const port = await loopbackPort(app)
    // Resumed from A's oldest id, with filters on the values both tenants use: only B's rows may come.
    const query = `?${new URLSearchParams(FILTERS_ON_SHARED_VALUES).toString()}`
    const bTail = await openTail(`http://127.0.0.1:${port}`, b.apiKey, query, { 'last-event-id': [...aIds.values()].sort()[0]! })
    t.teardown(() => { bTail.close() })
    t.equal(bTail.status, 200)
    const resumed = await bTail.waitForEvents(bIds.length)
    t.same(resumed.map((event) => event.id).sort(), [...bIds].sort(), 'the resume sends B\'s rows only')
    // A and B write at once: B's tail takes B's new log alone.
    const [aNew, bNew] = await Promise.all([
      postLogs(app, a.apiKey, entry({ ...SHARED, executed_at: '2026-11-20T10:30:00.000Z', message: 'A nightly sync live' })),
      postLogs(app, b.apiKey, entry({ ...SHARED, executed_at: '2026-11-20T10:30:00.000Z', message: 'B nightly sync live' }))
    ])
    const live = await bTail.waitForEvents(bIds.length + 1)
    t.equal(live.at(-1)!.id, bNew.json<StoredLogBody>().id)
    // One more of B's, so that anything of A's on its way would have arrived before it.
    const bLast = await postLogs(app, b.apiKey, entry({ ...SHARED, executed_at: '2026-11-20T10:31:00.000Z', message: 'B nightly sync last' }))
    const all = await bTail.waitForEvents(bIds.length + 2)
    t.equal(all.at(-1)!.id, bLast.json<StoredLogBody>().id)
    t.notOk(bTail.events.some((event) => event.id === aNew.json<StoredLogBody>().id || event.data!.includes('A nightly')), 'none of A\'s logs')
  },

  'GET /api/v1/logs/export': async (t, { app, b, aIds, bIds }) => {
    const aIdList = [...aIds.values()]
    for (const format of ['ndjson', 'csv']) {
      for (const query of [{}, FILTERS_ON_SHARED_VALUES, { ...FILTERS_ON_SHARED_VALUES, order: 'desc' }]) {
        const res = await get(app, b.apiKey, `/api/v1/logs/export?${new URLSearchParams({ ...query, format }).toString()}`)
        t.equal(res.statusCode, 200)
        const ids = res.body.split(/\r?\n/).filter((line) => line !== '' && !line.startsWith('id,'))
          .map((line) => format === 'csv' ? line.slice(0, line.indexOf(',')) : (JSON.parse(line) as StoredLogBody).id)
        t.same([...ids].sort(), [...bIds].sort(), `${format} ${JSON.stringify(query)}: B exports its own rows only`)
        t.same(ids.filter((id) => aIdList.includes(id)), [], 'none of A\'s ids')
        t.notOk(res.body.includes('A nightly sync'), 'nor A\'s messages')
      }
    }
    const aAlone = await get(app, b.apiKey, '/api/v1/logs/export?workflow_id=wf-only-a')
    t.equal(aAlone.body, '', 'a value only A uses exports nothing')
  },

  'GET /api/v1/logs/stats': async (t, { app, a, b, aIds, bIds }) => {
    const statsUrl = (query: Record<string, string>): string => `/api/v1/logs/stats?${new URLSearchParams(query).toString()}`
    const count = (body: StatsAnswerBody): number => body.buckets.reduce((sum, bucket) => sum + bucket.total, 0)
    for (const group of ['workflow_id', 'status', 'level', 'environment']) {
      const res = await get(app, b.apiKey, statsUrl({ ...FILTERS_ON_SHARED_VALUES, interval: 'minute', group_by: group }))
      t.equal(res.statusCode, 200)
      const body = res.json<StatsAnswerBody>()
      t.equal(count(body), bIds.length, `group_by=${group}: every filter on A's values counts only B's rows`)
      t.ok(body.buckets.every((bucket) => bucket.counts.every((entry) => entry.count <= 1)), 'one of B\'s logs a minute, none of A\'s')
    }
    const aAlone = (await get(app, b.apiKey, statsUrl({ from: '2026-11-20T00:00:00Z', to: '2026-11-21T00:00:00Z', workflow_id: 'wf-only-a' }))).json<StatsAnswerBody>()
    t.equal(count(aAlone), 0, 'a value only A uses counts nothing for B')
    const bDay = (await get(app, b.apiKey, statsUrl({ from: '2026-11-20T00:00:00Z', to: '2026-11-21T00:00:00Z', interval: 'day', group_by: 'workflow_id' }))).json<StatsAnswerBody>()
    t.same(bDay.buckets[0]?.counts, [{ value: 'wf-shared', count: bIds.length }], 'B\'s day holds B\'s logs only')
    const aDay = (await get(app, a.apiKey, statsUrl({ from: '2026-11-20T00:00:00Z', to: '2026-11-21T00:00:00Z', interval: 'day' }))).json<StatsAnswerBody>()
    t.equal(count(aDay), aIds.size, 'and A\'s holds A\'s')
  },

  'GET /api/v1/logs/:id': async (t, { app, a, b, aIds }) => {
    const nonexistent = await get(app, b.apiKey, `/api/v1/logs/${randomUUID()}`)
    t.equal(nonexistent.statusCode, 404)
    for (const [eventId, id] of aIds) {
      t.equal((await get(app, a.apiKey, `/api/v1/logs/${id}`)).statusCode, 200, `${eventId}: A reads its log`)
      const res = await get(app, b.apiKey, `/api/v1/logs/${id}`)
      t.equal(res.statusCode, 404, `${eventId}: 404 for B, never 403`)
      t.same(res.json(), nonexistent.json(), `${eventId}: the same body as for an id that does not exist`)
    }
  },

  'GET /api/v1/keys': async (t, { app, a, b, aAdmin, bAdmin }) => {
    const res = await get(app, bAdmin.apiKey, '/api/v1/keys')
    t.equal(res.statusCode, 200)
    t.same(res.json<KeyListBody>().data.map((key) => key.id).sort(), [b.keyId, bAdmin.keyId].sort(), 'B lists its own keys only')
    for (const id of [a.keyId, aAdmin.keyId, a.clientId]) t.notOk(res.body.includes(id), 'nothing of A\'s: no key id, no client id')
    const aView = (await get(app, aAdmin.apiKey, '/api/v1/keys')).json<KeyListBody>().data
    t.same(aView.map((key) => key.id).sort(), [a.keyId, aAdmin.keyId].sort(), 'and A its own')
    t.notOk(aView.some((key) => key.client_id === b.clientId))
  },

  'POST /api/v1/keys': async (t, { app, a, b, aAdmin, bAdmin }) => {
    const claimed = await callApi(app, bAdmin.apiKey, 'POST', '/api/v1/keys', { client_id: a.clientId })
    t.equal(claimed.statusCode, 400, 'a client_id in the body is refused, not used')
    const res = await callApi(app, bAdmin.apiKey, 'POST', '/api/v1/keys', { name: 'made by B' })
    t.equal(res.statusCode, 201)
    const created = res.json<CreatedKeyBody>()
    t.equal(created.key.client_id, b.clientId, 'the new key is B\'s')
    t.notOk((await aKeys(app, aAdmin)).some((key) => key.id === created.key.id), 'A does not see it')
    const stored = await postLogs(app, created.api_key, entry({ ...SHARED, message: 'via B\'s new key' }))
    const owner = await app.db.selectFrom('logs').select('client_id').where('id', '=', stored.json<StoredLogBody>().id).executeTakeFirstOrThrow()
    t.equal(owner.client_id, b.clientId, 'what it writes is B\'s')
    t.equal((await get(app, a.apiKey, `/api/v1/logs/${stored.json<StoredLogBody>().id}`)).statusCode, 404)
    t.equal((await get(app, aAdmin.apiKey, `/api/v1/keys/${created.key.id}`)).statusCode, 404, 'nor can A reach B\'s new key')
  },

  'GET /api/v1/keys/:id': async (t, world) => {
    await tryAKeyIds(t, world, 'GET', (id) => `/api/v1/keys/${id}`)
  },

  'PATCH /api/v1/keys/:id': async (t, world) => {
    await tryAKeyIds(t, world, 'PATCH', (id) => `/api/v1/keys/${id}`, { name: 'taken by B', allowed_cidrs: ['192.0.2.1/32'] })
    await tryAKeyIds(t, world, 'PATCH', (id) => `/api/v1/keys/${id}`, { allowed_cidrs: null })
  },

  'DELETE /api/v1/keys/:id': async (t, world) => {
    await tryAKeyIds(t, world, 'DELETE', (id) => `/api/v1/keys/${id}`)
  },

  'POST /api/v1/keys/:id/rotate': async (t, world) => {
    await tryAKeyIds(t, world, 'POST', (id) => `/api/v1/keys/${id}/rotate`, { grace_seconds: 0 })
    await tryAKeyIds(t, world, 'POST', (id) => `/api/v1/keys/${id}/rotate`, {})
  },

  'GET /api/v1/audit': async (t, { app, a, b, aAdmin, bAdmin }) => {
    // A's trail: a key made and one revoked over HTTP, and the revoked key then tried.
    const made = await callApi(app, aAdmin.apiKey, 'POST', '/api/v1/keys', { name: 'A\'s secret project' })
    t.equal(made.statusCode, 201)
    t.equal((await callApi(app, aAdmin.apiKey, 'DELETE', `/api/v1/keys/${a.keyId}`)).statusCode, 200)
    t.equal((await get(app, a.apiKey, '/api/v1/logs')).statusCode, 401)
    t.equal((await callApi(app, bAdmin.apiKey, 'PATCH', `/api/v1/keys/${b.keyId}`, { name: 'B\'s own change' })).statusCode, 200)
    await app.audit.flush()

    const aTrail = (await get(app, aAdmin.apiKey, '/api/v1/audit')).json<AuditPageBody>().data
    t.same(aTrail.map((event) => event.event).sort(), ['auth.failed', 'key.created', 'key.revoked'], 'A sees its own events')
    const res = await get(app, bAdmin.apiKey, '/api/v1/audit?limit=1000')
    t.equal(res.statusCode, 200)
    const bTrail = res.json<AuditPageBody>().data
    t.same(bTrail.map((event) => [event.event, event.key_id]), [['key.updated', b.keyId]], 'B sees its own event only')
    for (const text of [a.keyId, aAdmin.keyId, made.json<CreatedKeyBody>().key.id, a.clientId, 'secret project']) {
      t.notOk(res.body.includes(text), 'nothing of A\'s in B\'s trail')
    }
    for (const event of ['key.created', 'key.revoked', 'auth.failed']) {
      t.same((await get(app, bAdmin.apiKey, `/api/v1/audit?event=${event}`)).json<AuditPageBody>().data, [], `${event}: none of A's for B`)
    }
    // A cursor is a position in the whole trail: past A's newest event, B still finds only its own.
    const aNewest = Math.max(...aTrail.map((event) => Number(event.id)))
    const paged = (await get(app, bAdmin.apiKey, `/api/v1/audit?cursor=${aNewest + 1}&limit=1000`)).json<AuditPageBody>().data
    t.ok(paged.every((event) => event.key_id === b.keyId), 'a cursor near A\'s ids leads B to nothing of A\'s')
  },

  'GET /api/v1/client': async (t, { app, aAdmin, bAdmin }) => {
    t.equal((await callApi(app, aAdmin.apiKey, 'PATCH', '/api/v1/client', { defaults: { environment: 'a-secret-env' } })).statusCode, 200)
    const res = await get(app, bAdmin.apiKey, '/api/v1/client')
    t.equal(res.statusCode, 200)
    t.match(res.json(), { client_id: bAdmin.clientId, client_name: 'tenant-b', defaults: { environment: null, status: null } }, 'B sees its own client')
    t.notOk(res.body.includes('a-secret-env') || res.body.includes(aAdmin.clientId), 'nothing of A\'s')
  },

  'PATCH /api/v1/client': async (t, { app, a, aAdmin, bAdmin }) => {
    const res = await callApi(app, bAdmin.apiKey, 'PATCH', '/api/v1/client', { defaults: { environment: 'b-env', status: 'ok' } })
    t.equal(res.statusCode, 200)
    t.match(res.json(), { client_id: bAdmin.clientId, defaults: { environment: 'b-env', status: 'OK' } })
    t.match((await get(app, aAdmin.apiKey, '/api/v1/client')).json(), { defaults: { environment: null, status: null } }, 'A\'s defaults are untouched')
    const noDefaults = await postLogs(app, a.apiKey, { executed_at: '2026-11-20T10:00:00Z', message: 'A has no defaults' })
    t.equal(noDefaults.statusCode, 400, 'B\'s defaults do not fill A\'s entries')
  },

  'GET /api/v1/whoami': async (t, { app, a, aAdmin, b }) => {
    const res = await get(app, b.apiKey, '/api/v1/whoami')
    t.equal(res.statusCode, 200)
    t.match(res.json(), { client_id: b.clientId, client_name: 'tenant-b', key_id: b.keyId }, 'B is told of its own key')
    for (const text of [a.clientId, a.keyId, aAdmin.keyId, 'tenant-a']) t.notOk(res.body.includes(text), 'nothing of A\'s')
  },

  'GET /api/v1/webhooks': async (t, { app, aAdmin, bAdmin }) => {
    const aHook = await aWebhook(t, app, aAdmin)
    const res = await get(app, bAdmin.apiKey, '/api/v1/webhooks')
    t.equal(res.statusCode, 200)
    t.same(res.json<WebhookListBody>().data, [], 'none of A\'s endpoints')
    t.notOk(res.body.includes(aHook.id))
  },

  'POST /api/v1/webhooks': async (t, { app, a, aAdmin, bAdmin }) => {
    const claimed = await callApi(app, bAdmin.apiKey, 'POST', '/api/v1/webhooks', { url: 'https://b.example.com/hook', client_id: a.clientId })
    t.equal(claimed.statusCode, 400, 'a client_id in the body is refused, not obeyed')
    const made = await callApi(app, bAdmin.apiKey, 'POST', '/api/v1/webhooks', { url: 'https://b.example.com/hook' })
    t.equal(made.statusCode, 201)
    t.same((await get(app, aAdmin.apiKey, '/api/v1/webhooks')).json<WebhookListBody>().data, [], 'B\'s endpoint is not A\'s')
    // A's key events are fanned out to A's endpoints only: B's gets none.
    t.equal((await callApi(app, aAdmin.apiKey, 'POST', '/api/v1/keys', { name: 'A\'s new key' })).statusCode, 201)
    await app.webhooks.deliverDue().catch(() => 0)
    const deliveries = await app.db.selectFrom('webhook_deliveries').select(['client_id', 'endpoint_id']).execute()
    t.same(deliveries, [], 'nothing queued for B\'s endpoint from A\'s key change')
  },

  'GET /api/v1/webhooks/:id': async (t, world) => {
    await tryAWebhookIds(t, world, 'GET', (id) => `/api/v1/webhooks/${id}`)
  },

  'DELETE /api/v1/webhooks/:id': async (t, world) => {
    await tryAWebhookIds(t, world, 'DELETE', (id) => `/api/v1/webhooks/${id}`)
  },

  'GET /api/v1/webhooks/:id/deliveries': async (t, world) => {
    await tryAWebhookIds(t, world, 'GET', (id) => `/api/v1/webhooks/${id}/deliveries`)
  },

  'GET /api/v1/usage': async (t, { app, aAdmin, bAdmin }) => {
    // Counted so far: A's three ingest requests (five logs), B's one (two logs).
    for (const flushed of [false, true]) {
      if (flushed) await app.usage.flush()
      const res = await get(app, bAdmin.apiKey, '/api/v1/usage')
      t.equal(res.statusCode, 200)
      t.match(res.json<UsageReportBody>().total, { logs_accepted: 2, logs_duplicates: 0, requests: flushed ? 2 : 1 },
        `${flushed ? 'stored' : 'pending'}: B's counts only`)
      const aTotal = (await get(app, aAdmin.apiKey, '/api/v1/usage')).json<UsageReportBody>().total
      t.match(aTotal, { logs_accepted: 5, requests: flushed ? 4 : 3 }, 'A\'s are A\'s')
    }
  }
}

/** Method and full path of every route, read from the app's route tree. */
function routesOf (app: FastifyInstance): string[] {
  const routes: string[] = []
  const pathAtDepth: string[] = []
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    // A route with constraints (GET / for Elasticsearch's probe) prints them after its methods.
    const match = /^((?:│ {3}| {4})*)[├└]── (.*?)(?: \(([A-Z, ]+)\))?(?: \{.*\})?$/.exec(line)
    if (match === null) continue
    const depth = match[1]!.length / 4
    const path = (depth === 0 ? '' : pathAtDepth[depth - 1] ?? '') + match[2]!
    pathAtDepth[depth] = path
    pathAtDepth.length = depth + 1
    for (const method of match[3]?.split(', ') ?? []) routes.push(`${method} ${path}`)
  }
  return routes
}

void t.test('every route under /api/v1 is in the tenant isolation sweep', async (t) => {
  const { app } = await buildTestApp(t)
  const routes = routesOf(app)
  t.ok(routes.includes('GET /health'), 'the route tree was read (a route outside /api/v1 is found)')

  const apiRoutes = routes.filter((route) => / \/api\/v1(\/|$)/.test(route))
  // Fastify answers HEAD with the GET handler, so covering the GET covers it.
  const uncovered = apiRoutes.filter((route) => {
    const [method, path] = route.split(' ')
    return SWEEP[route] === undefined && !(method === 'HEAD' && SWEEP[`GET ${path!}`] !== undefined)
  })
  t.same(uncovered, [], 'each /api/v1 route has an entry in SWEEP saying how another tenant is kept out')
  const stale = Object.keys(SWEEP).filter((route) => !apiRoutes.includes(route))
  t.same(stale, [], 'each SWEEP entry is a route the app serves')
})

void t.test('tenant B cannot read, list, page into, change or use tenant A\'s logs, keys, audit trail or usage', async (t) => {
  for (const [route, check] of Object.entries(SWEEP)) {
    // A fresh pair of tenants per route, so that what one check writes cannot change what another expects.
    await t.test(route, async (t) => { await check(t, await buildWorld(t)) })
  }
})
