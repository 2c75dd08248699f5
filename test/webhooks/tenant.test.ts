// A tenant's own webhook endpoints (keys:manage): made with a secret shown
// once, told of the tenant's own key events only and signed with that
// secret, listed without it, deleted; another tenant's ids are 404; every
// change audited; and URLs that would point the service inward refused.
import { randomUUID } from 'node:crypto'
import t from 'tap'
import type { AuditPageBody } from '../../src/audit/routes.ts'
import type { CreatedKeyBody } from '../../src/keys/schemas.ts'
import type { CreatedWebhookBody, DeliveryListBody, WebhookListBody, WebhookViewBody } from '../../src/webhooks/schemas.ts'
import { verifySignatureHeader } from '../../src/webhooks/signature.ts'
import { MAX_ENDPOINTS_PER_CLIENT } from '../../src/webhooks/endpoints.ts'
import { buildTestApp, callApi, expectError, issueKey } from '../helper.ts'
import { startReceiver } from './receiver.ts'

const ADMIN = { scopes: ['keys:manage', 'logs:write', 'logs:read'] as const }
const LOOPBACK = { WEBHOOK_ALLOW_LOOPBACK: 'true', WEBHOOK_POLL_MS: '0', WEBHOOK_SCAN_MS: '0' }

void t.test('a tenant\'s endpoint gets its own key events, signed with its own secret, and no other tenant\'s', async (t) => {
  const receiver = await startReceiver(t)
  const { app } = await buildTestApp(t, LOOPBACK)
  const a = await issueKey(app, 'tenant-a', { scopes: [...ADMIN.scopes] })
  const b = await issueKey(app, 'tenant-b', { scopes: [...ADMIN.scopes] })

  const made = await callApi(app, a.apiKey, 'POST', '/api/v1/webhooks', { url: receiver.url('/a'), description: 'ops channel' })
  t.equal(made.statusCode, 201)
  const { secret, webhook } = made.json<CreatedWebhookBody>()
  t.match(secret, /^whsec_[A-Za-z0-9_-]{43}$/, 'a secret of 256 bits, shown this once')
  t.same(webhook.events, ['key.created', 'key.rotated', 'key.revoked', 'key.expiring', 'auth.failure_spike'], 'every event by default')
  const listed = (await callApi(app, a.apiKey, 'GET', '/api/v1/webhooks')).json<WebhookListBody>()
  t.same(listed.data, [webhook], 'listed as made')
  t.notOk(JSON.stringify(listed).includes(secret), 'never the secret again')
  t.notOk((await callApi(app, a.apiKey, 'GET', `/api/v1/webhooks/${webhook.id}`)).body.includes(secret))
  const row = await app.db.selectFrom('webhook_endpoints').select('secret').executeTakeFirstOrThrow()
  t.equal(row.secret, secret, 'kept as given out: the service signs with it')

  // B's endpoint, with a filter, and both tenants' key changes.
  const bHook = (await callApi(app, b.apiKey, 'POST', '/api/v1/webhooks', { url: receiver.url('/b'), events: ['key.revoked'] }))
    .json<CreatedWebhookBody>()
  const aKey = (await callApi(app, a.apiKey, 'POST', '/api/v1/keys', { name: 'a shipper' })).json<CreatedKeyBody>()
  const bKey = (await callApi(app, b.apiKey, 'POST', '/api/v1/keys', { name: 'b shipper' })).json<CreatedKeyBody>()
  t.equal((await callApi(app, b.apiKey, 'DELETE', `/api/v1/keys/${bKey.key.id}`)).statusCode, 200)
  while (await app.webhooks.deliverDue() > 0) { /* more */ }

  const toA = receiver.received.filter((one) => one.path === '/a')
  t.same(toA.map((one) => [one.payload.type, (one.payload.data.key as { id: string }).id]), [['key.created', aKey.key.id]],
    'A hears of its own key only')
  t.ok(verifySignatureHeader(secret, String(toA[0]!.headers['webhook-signature']), toA[0]!.body, Math.floor(Date.now() / 1000)),
    'signed with A\'s secret')
  t.notOk(verifySignatureHeader(bHook.secret, String(toA[0]!.headers['webhook-signature']), toA[0]!.body, Math.floor(Date.now() / 1000)))
  const toB = receiver.received.filter((one) => one.path === '/b')
  t.same(toB.map((one) => one.payload.type), ['key.revoked'], 'B hears only the events it asked for')
  t.equal(toB[0]!.payload.client.id, b.clientId)

  const deliveries = (await callApi(app, a.apiKey, 'GET', `/api/v1/webhooks/${webhook.id}/deliveries`)).json<DeliveryListBody>()
  t.match(deliveries.data, [{ type: 'key.created', status: 'delivered', attempts: 1, last_status: 200, next_attempt_at: null }])

  // Deleted: audited, and told nothing more.
  const deleted = await callApi(app, a.apiKey, 'DELETE', `/api/v1/webhooks/${webhook.id}`)
  t.match(deleted.json(), { deleted: true, webhook: { id: webhook.id } })
  t.equal((await callApi(app, a.apiKey, 'DELETE', `/api/v1/keys/${aKey.key.id}`)).statusCode, 200)
  while (await app.webhooks.deliverDue() > 0) { /* more */ }
  t.equal(receiver.received.filter((one) => one.path === '/a').length, 1, 'a deleted endpoint hears nothing')
  const trail = (await callApi(app, a.apiKey, 'GET', '/api/v1/audit?limit=1000')).json<AuditPageBody>().data
  const hooks = trail.filter((event) => event.event.startsWith('webhook.')).reverse()
  t.match(hooks, [
    { event: 'webhook.created', actor: `key:${a.keyId}`, details: { endpoint_id: webhook.id, host: new URL(receiver.url()).host } },
    { event: 'webhook.deleted', actor: `key:${a.keyId}`, details: { endpoint_id: webhook.id } }
  ], 'both audited, with the host and not the URL (whose path may be a secret)')
})

void t.test('another tenant\'s endpoint ids are 404, and its endpoints untouched', async (t) => {
  const { app } = await buildTestApp(t, LOOPBACK)
  const a = await issueKey(app, 'tenant-a', { scopes: [...ADMIN.scopes] })
  const b = await issueKey(app, 'tenant-b', { scopes: [...ADMIN.scopes] })
  const aHook = (await callApi(app, a.apiKey, 'POST', '/api/v1/webhooks', { url: 'http://127.0.0.1:9/a' })).json<CreatedWebhookBody>()
  for (const id of [aHook.webhook.id, aHook.webhook.id.toUpperCase(), randomUUID(), 'not-a-uuid']) {
    expectError(t, await callApi(app, b.apiKey, 'GET', `/api/v1/webhooks/${id}`), 404, 'not_found')
    expectError(t, await callApi(app, b.apiKey, 'GET', `/api/v1/webhooks/${id}/deliveries`), 404, 'not_found')
    expectError(t, await callApi(app, b.apiKey, 'DELETE', `/api/v1/webhooks/${id}`), 404, 'not_found')
  }
  t.same((await callApi(app, b.apiKey, 'GET', '/api/v1/webhooks')).json<WebhookListBody>().data, [], 'B lists none of A\'s')
  t.same((await callApi(app, a.apiKey, 'GET', `/api/v1/webhooks/${aHook.webhook.id}`)).json<WebhookViewBody>(), aHook.webhook, 'A\'s is as it was')
  const claimed = await callApi(app, b.apiKey, 'POST', '/api/v1/webhooks', { url: 'http://127.0.0.1:9/b', client_id: a.clientId })
  expectError(t, claimed, 400, 'invalid_request')
})

void t.test('the routes need keys:manage, and a client has a bounded number of endpoints', async (t) => {
  const { app } = await buildTestApp(t, LOOPBACK)
  const reader = await issueKey(app, 'acme')
  expectError(t, await callApi(app, reader.apiKey, 'GET', '/api/v1/webhooks'), 403, 'insufficient_scope')
  expectError(t, await callApi(app, reader.apiKey, 'POST', '/api/v1/webhooks', { url: 'http://127.0.0.1:9/' }), 403, 'insufficient_scope')
  const admin = await issueKey(app, 'acme', { scopes: [...ADMIN.scopes] })
  for (let i = 0; i < MAX_ENDPOINTS_PER_CLIENT; i++) {
    t.equal((await callApi(app, admin.apiKey, 'POST', '/api/v1/webhooks', { url: `http://127.0.0.1:9/${i}` })).statusCode, 201)
  }
  expectError(t, await callApi(app, admin.apiKey, 'POST', '/api/v1/webhooks', { url: 'http://127.0.0.1:9/more' }), 409, 'too_many_webhooks')
  expectError(t, await callApi(app, admin.apiKey, 'POST', '/api/v1/webhooks', { url: 'http://127.0.0.1:9/x', events: ['key.updated'] }),
    400, 'invalid_request')
  expectError(t, await callApi(app, admin.apiKey, 'POST', '/api/v1/webhooks', { url: 'http://127.0.0.1:9/x', description: 'a\u202eb' }),
    400, 'invalid_name')
})

void t.test('URLs that would point the service inward are refused', async (t) => {
  const { app } = await buildTestApp(t, { WEBHOOK_POLL_MS: '0', WEBHOOK_SCAN_MS: '0' })
  const admin = await issueKey(app, 'acme', { scopes: [...ADMIN.scopes] })
  const refused = [
    'http://example.com/hook',
    'http://127.0.0.1:8080/hook',
    'https://127.0.0.1/hook',
    'https://localhost/hook',
    'https://[::1]/hook',
    'https://10.1.2.3/hook',
    'https://192.168.0.10/hook',
    'https://169.254.169.254/latest/meta-data',
    'https://[fe80::1]/hook',
    'https://[::ffff:10.0.0.1]/hook',
    'https://0.0.0.0/hook',
    'https://user:pass@example.com/hook',
    'ftp://example.com/hook',
    'not a url'
  ]
  for (const url of refused) {
    expectError(t, await callApi(app, admin.apiKey, 'POST', '/api/v1/webhooks', { url }), 400, 'invalid_webhook_url')
  }
  t.equal((await callApi(app, admin.apiKey, 'POST', '/api/v1/webhooks', { url: 'https://hooks.example.com/x' })).statusCode, 201,
    'a public https URL is taken')
  t.equal(await app.db.selectFrom('webhook_endpoints').select('id').execute().then((rows) => rows.length), 1, 'and only it')

  const open = await buildTestApp(t, { WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_POLL_MS: '0', WEBHOOK_SCAN_MS: '0' })
  const other = await issueKey(open.app, 'acme', { scopes: [...ADMIN.scopes] })
  t.equal((await callApi(open.app, other.apiKey, 'POST', '/api/v1/webhooks', { url: 'https://10.1.2.3/hook' })).statusCode, 201,
    'WEBHOOK_ALLOW_PRIVATE opens private ranges')
  for (const url of ['http://10.1.2.3/hook', 'https://169.254.169.254/', 'https://127.0.0.1/']) {
    expectError(t, await callApi(open.app, other.apiKey, 'POST', '/api/v1/webhooks', { url }), 400, 'invalid_webhook_url')
  }
})

void t.test('an endpoint whose address is refused at delivery is not called', async (t) => {
  const receiver = await startReceiver(t)
  const first = await buildTestApp(t, LOOPBACK)
  const admin = await issueKey(first.app, 'acme', { scopes: [...ADMIN.scopes] })
  t.equal((await callApi(first.app, admin.apiKey, 'POST', '/api/v1/webhooks', { url: receiver.url() })).statusCode, 201)
  t.equal((await callApi(first.app, admin.apiKey, 'POST', '/api/v1/keys', {})).statusCode, 201)
  await first.app.close()
  // The provider then takes loopback away: the endpoint made before is not called.
  const { app } = await buildTestApp(t, { DATABASE_URL: first.databaseUrl, WEBHOOK_POLL_MS: '0', WEBHOOK_SCAN_MS: '0' })
  t.equal(await app.webhooks.deliverDue(), 1)
  t.equal(receiver.received.length, 0, 'not called')
  const row = await app.db.selectFrom('webhook_deliveries').selectAll().executeTakeFirstOrThrow()
  t.match(row, { attempts: 1, last_status: null, delivered_at: null, last_error: /http is allowed only for loopback/ })
})
