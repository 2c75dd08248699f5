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
import type { FastifyInstance } from 'fastify'
import { appendAuditEvents } from '../../src/audit/store.ts'

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

// Notices no change makes: keys about to expire (14 days and 1 day before,
// each once), and spikes of failed authentications with one client's keys
// (at most once per window), found by the worker's scan on an injected clock.
const SECRET = 'provider-webhook-secret-0123456789abcdef'
const DAY_MS = 86_400_000

/** An app whose scans judge time by `clock.now`, delivering to the receiver when asked. */
async function appWithClock (t: Parameters<typeof buildTestApp>[0], url: string, env: Record<string, string> = {}) {
  const clock = { now: Date.now() }
  const { app } = await buildTestApp(t, { WEBHOOK_URLS: url, WEBHOOK_SECRET: SECRET, WEBHOOK_POLL_MS: '0', WEBHOOK_SCAN_MS: '0', ...env },
    { webhookClock: () => clock.now })
  return { app, clock }
}

async function scanAndDeliver (app: FastifyInstance): Promise<void> {
  await app.webhooks.scan()
  while (await app.webhooks.deliverDue() > 0) { /* more */ }
}

void t.test('a key about to expire is announced 14 days and 1 day before, each once', async (t) => {
  const receiver = await startReceiver(t)
  const { app, clock } = await appWithClock(t, receiver.url())
  const start = clock.now
  const soon = await issueKey(app, 'acme', { name: 'nightly', expiresAt: new Date(start + 13 * DAY_MS) })
  const later = await issueKey(app, 'acme', { expiresAt: new Date(start + 30 * DAY_MS) })
  const urgent = await issueKey(app, 'globex', { expiresAt: new Date(start + 12 * 3_600_000) })
  const revoked = await issueKey(app, 'acme', { expiresAt: new Date(start + 2 * DAY_MS) })
  await app.db.updateTable('api_keys').set({ revoked_at: new Date() }).where('id', '=', revoked.keyId).execute()
  const notices = () => receiver.received.map((one) => [(one.payload.data.key as { id: string }).id, one.payload.data.days_before])

  await scanAndDeliver(app)
  t.equal(receiver.received.length, 2, 'two notices')
  t.same(new Set(notices().map(String)), new Set([[soon.keyId, 14], [urgent.keyId, 1]].map(String)),
    'the key 13 days from expiry gets the 14-day notice; the one 12 hours from it only the 1-day one; a revoked key none')
  const first = receiver.received.find((one) => (one.payload.data.key as { id: string }).id === soon.keyId)!
  t.equal(first.payload.type, 'key.expiring')
  t.match(first.payload.text, /expires at .* \(in 14 days or less\)/)
  t.equal(first.payload.data.expires_at, new Date(start + 13 * DAY_MS).toISOString())

  await scanAndDeliver(app)
  t.equal(receiver.received.length, 2, 'a second look sends nothing again')

  clock.now = start + 12.5 * DAY_MS
  await scanAndDeliver(app)
  await scanAndDeliver(app)
  t.same(notices().slice(2), [[soon.keyId, 1]], 'a day before its expiry, the 1-day notice, once')

  clock.now = start + 20 * DAY_MS
  await scanAndDeliver(app)
  t.same(notices().slice(3), [[later.keyId, 14]], 'the next key in its turn; an expired key is not announced')
  clock.now = start + 31 * DAY_MS
  await scanAndDeliver(app)
  t.equal(receiver.received.length, 4)
})

void t.test('a rotated key is not announced as expiring: its replacement is', async (t) => {
  const receiver = await startReceiver(t)
  const { app } = await appWithClock(t, receiver.url())
  const admin = await issueKey(app, 'acme', { scopes: ['keys:manage', 'logs:write', 'logs:read'] })
  const made = await callApi(app, admin.apiKey, 'POST', '/api/v1/keys', { expires_in_seconds: 10 * 86_400 })
  const keyId = made.json<{ key: { id: string } }>().key.id
  const rotated = await callApi(app, admin.apiKey, 'POST', `/api/v1/keys/${keyId}/rotate`, { expires_in_seconds: 5 * 86_400 })
  const newId = rotated.json<{ key: { id: string } }>().key.id
  await scanAndDeliver(app)
  const expiring = receiver.received.filter((one) => one.payload.type === 'key.expiring')
  t.same(expiring.map((one) => (one.payload.data.key as { id: string }).id), [newId])
})

void t.test('a spike of failed authentications with a client\'s keys is told at most once per window', async (t) => {
  const receiver = await startReceiver(t)
  const { app, clock } = await appWithClock(t, receiver.url(), {
    WEBHOOK_AUTH_FAILURE_SPIKE: '5', WEBHOOK_AUTH_FAILURE_WINDOW_SECONDS: '60', USAGE_FLUSH_SECONDS: '300'
  })
  const revoked = await issueKey(app, 'acme')
  const quiet = await issueKey(app, 'globex')
  await app.db.updateTable('api_keys').set({ revoked_at: new Date() }).where('id', 'in', [revoked.keyId, quiet.keyId]).execute()
  const spikes = () => receiver.received.filter((one) => one.payload.type === 'auth.failure_spike')

  // Four failures: under the threshold. Then a fifth, from another route.
  for (let i = 0; i < 4; i++) t.equal((await callApi(app, revoked.apiKey, 'GET', '/api/v1/logs')).statusCode, 401)
  t.equal((await callApi(app, quiet.apiKey, 'GET', '/api/v1/logs')).statusCode, 401)
  await app.audit.flush()
  await scanAndDeliver(app)
  t.equal(spikes().length, 0, 'four failures are no spike')
  t.equal((await callApi(app, revoked.apiKey, 'POST', '/api/v1/logs', {})).statusCode, 401)
  await app.audit.flush()
  clock.now = Date.now()
  await scanAndDeliver(app)
  t.equal(spikes().length, 1, 'the fifth makes one')
  const spike = spikes()[0]!.payload
  t.equal(spike.client.id, revoked.clientId, 'for the client whose keys failed, not the other')
  t.match(spike.data, { failures: 5, threshold: 5, window_seconds: 60, reasons: { revoked_api_key: 5 } })
  t.match(spike.text, /5 failed authentications with the API keys of \*acme\*/)

  for (let i = 0; i < 10; i++) await callApi(app, revoked.apiKey, 'GET', '/api/v1/logs')
  await app.audit.flush()
  clock.now = Date.now()
  await scanAndDeliver(app)
  clock.now += 30_000
  await scanAndDeliver(app)
  t.equal(spikes().length, 1, 'more failures within the window: no second notice')

  // A window later, a new spike (written as the recorder would, at that time) is told again.
  clock.now += 61_000
  await appendAuditEvents(app.db, [{
    event: 'auth.failed',
    clientId: revoked.clientId,
    keyId: revoked.keyId,
    actor: 'service',
    reason: 'revoked_api_key',
    details: { count: 7 },
    occurredAt: new Date(clock.now - 1000)
  }])
  await scanAndDeliver(app)
  t.equal(spikes().length, 2, 'the next window\'s spike is told')
  t.match(spikes()[1]!.payload.data, { failures: 7 })
  await scanAndDeliver(app)
  t.equal(spikes().length, 2)
})

void t.test('the scan runs by itself every WEBHOOK_SCAN_MS', async (t) => {
  const receiver = await startReceiver(t)
  const { app } = await buildTestApp(t, { WEBHOOK_URLS: receiver.url(), WEBHOOK_SECRET: SECRET, WEBHOOK_POLL_MS: '10', WEBHOOK_SCAN_MS: '20' })
  await issueKey(app, 'acme', { expiresAt: new Date(Date.now() + 3 * DAY_MS) })
  const [notice] = await receiver.waitFor(1)
  t.equal(notice!.payload.type, 'key.expiring')
  t.equal(notice!.payload.data.days_before, 14)
})
