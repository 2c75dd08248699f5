// GET and PATCH /api/v1/client: a tenant sets its own defaults for
// environment and status, which then fill its entries on POST /api/v1/logs;
// audited, refused without keys:manage, and each tenant's own.
import t from 'tap'
import type { ClientViewBody } from '../../src/clients/schemas.ts'
import type { StoredLogBody } from '../../src/logs/schemas.ts'
import { buildTestApp, callApi, countLogs, expectError, issueKey, postLogs } from '../helper.ts'

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
