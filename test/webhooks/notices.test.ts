// Notices no change makes: keys about to expire (14 days and 1 day before,
// each once), and spikes of failed authentications with one client's keys
// (at most once per window), found by the worker's scan on an injected clock.
import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { appendAuditEvents } from '../../src/audit/store.ts'
import { buildTestApp, callApi, issueKey } from '../helper.ts'
import { startReceiver } from './receiver.ts'

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
