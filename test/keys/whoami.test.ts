// GET /api/v1/whoami: what the calling key is and may do, for a key of any
// scope, never the key itself; refused like any route without a good key.
import t from 'tap'
import type { WhoamiBody } from '../../src/keys/whoami-routes.ts'
import { buildTestApp, callApi, expectError, issueKey, KEY_SHAPE } from '../helper.ts'

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
