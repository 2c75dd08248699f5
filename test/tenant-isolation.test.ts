import { randomUUID } from 'node:crypto'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import t, { type Test } from 'tap'
import type { ErrorBody } from '../src/errors.ts'
import type { BatchResultBody, LogPageBody, StoredLogBody } from '../src/logs/schemas.ts'
import { buildTestApp, entry, issueKey, postLogs, type IssuedKey } from './helper.ts'

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
  const { app } = await buildTestApp(t)
  const a = await issueKey(app, 'tenant-a')
  const b = await issueKey(app, 'tenant-b')

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
  return { app, a, b, aIds, bIds: bBatch.json<BatchResultBody>().ids as string[] }
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

  'GET /api/v1/logs/:id': async (t, { app, a, b, aIds }) => {
    const nonexistent = await get(app, b.apiKey, `/api/v1/logs/${randomUUID()}`)
    t.equal(nonexistent.statusCode, 404)
    for (const [eventId, id] of aIds) {
      t.equal((await get(app, a.apiKey, `/api/v1/logs/${id}`)).statusCode, 200, `${eventId}: A reads its log`)
      const res = await get(app, b.apiKey, `/api/v1/logs/${id}`)
      t.equal(res.statusCode, 404, `${eventId}: 404 for B, never 403`)
      t.same(res.json(), nonexistent.json(), `${eventId}: the same body as for an id that does not exist`)
    }
  }
}

/** Method and full path of every route, read from the app's route tree. */
function routesOf (app: FastifyInstance): string[] {
  const routes: string[] = []
  const pathAtDepth: string[] = []
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const match = /^((?:│ {3}| {4})*)[├└]── (.*?)(?: \(([A-Z, ]+)\))?$/.exec(line)
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

void t.test('tenant B cannot read, list, page into or overwrite tenant A\'s logs', async (t) => {
  for (const [route, check] of Object.entries(SWEEP)) {
    // A fresh pair of tenants per route, so that what one check writes cannot change what another expects.
    await t.test(route, async (t) => { await check(t, await buildWorld(t)) })
  }
})
