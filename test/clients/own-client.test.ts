// What a tenant reads and sets of itself: its own client's defaults (GET and
// PATCH /api/v1/client) and what its calling key is and may do
// (GET /api/v1/whoami).
import t from 'tap'
import type { ClientViewBody } from '../../src/clients/schemas.ts'
import type { StoredLogBody } from '../../src/logs/schemas.ts'
import { buildTestApp, callApi, countLogs, expectError, issueKey, postLogs, KEY_SHAPE } from '../helper.ts'
import type { WhoamiBody } from '../../src/keys/whoami-routes.ts'

// GET and PATCH /api/v1/client: a tenant sets its own defaults for
// environment and status, which then fill its entries on POST /api/v1/logs;
// audited, refused without keys:manage, and each tenant's own.
const MANAGER = ['keys:manage', 'logs:write', 'logs:read'] as const

void t.test('a tenant sets, reads and clears its defaults, and its entries get them at once', async (t) => {
  const { app } = await buildTestApp(t)
  const admin = await issueKey(app, 'acme', { scopes: [...MANAGER] })
  const writer = await issueKey(app, 'acme')
  const before = await callApi(app, admin.apiKey, 'GET', '/api/v1/client')
  t.equal(before.statusCode, 200)
  t.same(before.json(), { client_id: admin.clientId, client_name: 'acme', defaults: { environment: null, status: null } })

  // Warm the writer's key in the cache first: the change must reach it all the same.
  expectError(t, await postLogs(app, writer.apiKey, { time: 1764750000123, msg: 'before' }), 400, 'invalid_entries')
  const set = await callApi(app, admin.apiKey, 'PATCH', '/api/v1/client', { defaults: { environment: 'production', status: 'ok' } })
  t.equal(set.statusCode, 200)
  t.same(set.json<ClientViewBody>().defaults, { environment: 'production', status: 'OK' }, 'the status upper-cased, as logs store it')
  const log = await postLogs(app, writer.apiKey, { time: 1764750000123, msg: 'after' })
  t.equal(log.statusCode, 201)
  t.match(log.json<StoredLogBody>(), { environment: 'production', status: 'OK', message: 'after' })

  const cleared = await callApi(app, admin.apiKey, 'PATCH', '/api/v1/client', { defaults: { status: null } })
  t.same(cleared.json<ClientViewBody>().defaults, { environment: 'production', status: null }, 'null clears one; the other stays')
  expectError(t, await postLogs(app, writer.apiKey, { time: 1764750000123, msg: 'no status' }), 400, 'invalid_entries')

  await app.audit.flush()
  const events = await app.db.selectFrom('audit_events').selectAll().where('event', '=', 'client.updated').orderBy('id').execute()
  t.equal(events.length, 2, 'each change audited')
  t.match(events[0], { client_id: admin.clientId, actor: `key:${admin.keyId}`, address: '127.0.0.1' })
  t.match(events[1]?.details, { default_status: { from: 'OK', to: null } })
  t.equal(await countLogs(app), 1)
})

void t.test('bad defaults and bodies are 400, and change nothing', async (t) => {
  const { app } = await buildTestApp(t)
  const admin = await issueKey(app, 'acme', { scopes: [...MANAGER] })
  const bad = [
    {},
    { defaults: {} },
    { defaults: { environment: '' } },
    { defaults: { environment: 'x'.repeat(65) } },
    { defaults: { status: 'ß'.repeat(17) } },
    { defaults: { environment: 'prod\u001b[2J' } },
    { defaults: { environment: 5 } },
    { defaults: { colour: 'red' } },
    { defaults: { environment: 'prod' }, other: 1 }
  ]
  for (const body of bad) {
    expectError(t, await callApi(app, admin.apiKey, 'PATCH', '/api/v1/client', body), 400, 'invalid_request')
  }
  expectError(t, await callApi(app, admin.apiKey, 'GET', '/api/v1/client?x=1'), 400, 'invalid_request')
  t.same((await callApi(app, admin.apiKey, 'GET', '/api/v1/client')).json<ClientViewBody>().defaults, { environment: null, status: null })
  await app.audit.flush()
  t.equal((await app.db.selectFrom('audit_events').selectAll().where('event', '=', 'client.updated').execute()).length, 0)
})

void t.test('without keys:manage, or without a key, the routes are refused', async (t) => {
  const { app } = await buildTestApp(t)
  const writer = await issueKey(app, 'acme')
  for (const method of ['GET', 'PATCH'] as const) {
    const body = method === 'PATCH' ? { defaults: { environment: 'production' } } : undefined
    expectError(t, await callApi(app, writer.apiKey, method, '/api/v1/client', body), 403, 'insufficient_scope')
    const anonymous = await app.inject({ method, url: '/api/v1/client' })
    expectError(t, anonymous, 401, 'missing_api_key')
  }
  const admin = await issueKey(app, 'acme', { scopes: ['keys:manage'] })
  t.same((await callApi(app, admin.apiKey, 'GET', '/api/v1/client')).json<ClientViewBody>().defaults, { environment: null, status: null })
})

// GET /api/v1/whoami: what the calling key is and may do, for a key of any
// scope, never the key itself; refused like any route without a good key.
void t.test('each key is told its own client, scopes and end, whatever its scopes', async (t) => {
  const { app } = await buildTestApp(t)
  const expiresAt = new Date(Date.now() + 3 * 86_400_000)
  const writer = await issueKey(app, 'acme', { scopes: ['logs:write'], expiresAt })
  const manager = await issueKey(app, 'acme', { scopes: ['keys:manage'] })
  const other = await issueKey(app, 'globex')

  const asWriter = await callApi(app, writer.apiKey, 'GET', '/api/v1/whoami')
  t.equal(asWriter.statusCode, 200, 'a logs:write key may ask')
  const body = asWriter.json<WhoamiBody>()
  t.same(body, {
    client_id: writer.clientId,
    client_name: 'acme',
    key_id: writer.keyId,
    key_prefix: body.key_prefix,
    scopes: ['logs:write'],
    ends_at: expiresAt.toISOString(),
    in_grace: false
  })
  t.ok(writer.apiKey.startsWith(body.key_prefix) && body.key_prefix.length < 16, 'a short prefix of the key')
  t.notMatch(asWriter.body, KEY_SHAPE, 'never the key')

  t.match((await callApi(app, manager.apiKey, 'GET', '/api/v1/whoami')).json(), { key_id: manager.keyId, scopes: ['keys:manage'], ends_at: null })
  t.match((await callApi(app, other.apiKey, 'GET', '/api/v1/whoami')).json(), { client_id: other.clientId, client_name: 'globex', key_id: other.keyId })
})

void t.test('a rotated key in its grace says so; no key, a bad one or a query parameter is refused', async (t) => {
  const { app } = await buildTestApp(t)
  const admin = await issueKey(app, 'acme', { scopes: ['logs:write', 'logs:read', 'keys:manage'] })
  const old = await issueKey(app, 'acme')
  const rotated = await callApi(app, admin.apiKey, 'POST', `/api/v1/keys/${old.keyId}/rotate`, { grace_seconds: 3600 })
  t.equal(rotated.statusCode, 201)
  const graced = (await callApi(app, old.apiKey, 'GET', '/api/v1/whoami')).json<WhoamiBody>()
  t.equal(graced.in_grace, true)
  t.ok(graced.ends_at !== null && Math.abs(Date.parse(graced.ends_at) - (Date.now() + 3_600_000)) < 60_000, 'ends with the grace')

  expectError(t, await app.inject({ method: 'GET', url: '/api/v1/whoami' }), 401, 'missing_api_key')
  expectError(t, await callApi(app, 'clk_nothing', 'GET', '/api/v1/whoami'), 401)
  expectError(t, await callApi(app, admin.apiKey, 'GET', '/api/v1/whoami?key=1'), 400, 'invalid_request')
})

void t.test('OpenAPI says any key may ask', async (t) => {
  const { app } = await buildTestApp(t)
  const spec = (await app.inject({ method: 'GET', url: '/docs/json' })).json<{ paths: Record<string, Record<string, { description?: string, security?: unknown }>> }>()
  const whoami = spec.paths['/api/v1/whoami']?.get
  t.ok(whoami?.security, 'with a key')
  t.match(whoami?.description, /Any accepted key, whatever its scopes/)
})
