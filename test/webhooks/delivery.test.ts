// Webhook delivery from the outbox, to a real HTTP receiver: the provider's
// endpoints (WEBHOOK_URLS) told of key changes made over HTTP and by the CLI,
// signed; retried after a failure with back-off, given up after the last
// attempt; durable across a restart; and delivered once by two instances
// sharing the database.
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import type { CreatedKeyBody, RotatedKeyBody } from '../../src/keys/schemas.ts'
import { buildApp } from '../../src/app.ts'
import { verifySignatureHeader } from '../../src/webhooks/signature.ts'
import { buildTestApp, callApi, issueKey, KEY_SHAPE } from '../helper.ts'
import { keys, parsed, type Created } from '../cli/run.ts'
import { startReceiver } from './receiver.ts'

const SECRET = 'provider-webhook-secret-0123456789abcdef'

/** The provider's webhook settings, with no timer: the test says when the worker works. */
function providerEnv (url: string, more: Record<string, string> = {}): Record<string, string> {
  return { WEBHOOK_URLS: url, WEBHOOK_SECRET: SECRET, WEBHOOK_POLL_MS: '0', WEBHOOK_SCAN_MS: '0', ...more }
}

async function outboxRows (app: Awaited<ReturnType<typeof buildTestApp>>['app']) {
  return await app.db.selectFrom('webhook_deliveries').selectAll().orderBy('id').execute()
}

void t.test('key changes over HTTP reach the provider\'s endpoint, signed, with no key in them', async (t) => {
  const receiver = await startReceiver(t)
  const { app } = await buildTestApp(t, providerEnv(receiver.url()))
  const admin = await issueKey(app, 'acme', { scopes: ['keys:manage', 'logs:write', 'logs:read'] })

  const created = await callApi(app, admin.apiKey, 'POST', '/api/v1/keys', { name: 'ci <!channel> & co', expires_in_seconds: 90 * 86_400 })
  t.equal(created.statusCode, 201)
  const newKey = created.json<CreatedKeyBody>()
  const rotated = await callApi(app, admin.apiKey, 'POST', `/api/v1/keys/${newKey.key.id}/rotate`, { grace_seconds: 3600 })
  t.equal(rotated.statusCode, 201)
  const rotation = rotated.json<RotatedKeyBody>()
  t.equal((await callApi(app, admin.apiKey, 'DELETE', `/api/v1/keys/${rotation.key.id}`)).statusCode, 200)
  t.equal(receiver.received.length, 0, 'nothing is sent while the change is made: it waits in the outbox')

  t.equal(await app.webhooks.deliverDue(), 3, 'three deliveries attempted')
  const got = await receiver.waitFor(3)
  t.same(got.map((one) => one.payload.type), ['key.created', 'key.rotated', 'key.revoked'], 'in the order of the changes')
  const now = Math.floor(Date.now() / 1000)
  for (const one of got) {
    t.ok(verifySignatureHeader(SECRET, String(one.headers['webhook-signature']), one.body, now), `${one.payload.type}: the signature verifies`)
    t.notOk(verifySignatureHeader('another-secret-0123456789abcdef0123', String(one.headers['webhook-signature']), one.body, now),
      'and not with another secret')
    t.notOk(verifySignatureHeader(SECRET, String(one.headers['webhook-signature']), one.body + ' ', now), 'nor over another body')
    t.match(one.headers['webhook-signature'], /^t=\d+,v1=[0-9a-f]{64}$/)
    t.equal(one.headers['webhook-id'], one.payload.id, 'Webhook-Id is the event id')
    t.equal(one.headers['content-type'], 'application/json')
    t.notMatch(one.body, KEY_SHAPE, 'no key in the body')
    for (const secret of [newKey.api_key, rotation.api_key, admin.apiKey]) t.notOk(one.body.includes(secret.slice(12)), 'nor any part of one past its prefix')
    t.equal(one.payload.client.name, 'acme')
    t.equal(one.payload.client.id, admin.clientId)
    t.type(one.payload.text, 'string')
  }
  const [createdEvent, rotatedEvent, revokedEvent] = got.map((one) => one.payload)
  t.match(createdEvent!.data, { key: { id: newKey.key.id, prefix: newKey.key.prefix, name: 'ci <!channel> & co' }, actor: `key:${admin.keyId}` })
  t.match(createdEvent!.text, /ci &lt;!channel&gt; &amp; co/, 'Slack text escapes what a name could turn into a mention')
  t.notMatch(createdEvent!.text, /<!channel>/)
  t.match(rotatedEvent!.data, {
    key: { id: newKey.key.id },
    replacement: { id: rotation.key.id, prefix: rotation.key.prefix },
    grace_seconds: 3600,
    grace_ends_at: rotation.previous.grace_ends_at
  })
  t.match(revokedEvent!.data, { key: { id: rotation.key.id } })
  t.match(revokedEvent!.text, /revoked/)

  const rows = await outboxRows(app)
  t.ok(rows.every((row) => row.delivered_at !== null && row.attempts === 1 && row.last_status === 200), 'each delivered at the first attempt')
  t.equal(await app.webhooks.deliverDue(), 0, 'and not again')
})

void t.test('the CLI\'s key changes go out through the same outbox', async (t) => {
  const receiver = await startReceiver(t)
  const { app, databaseUrl } = await buildTestApp(t, providerEnv(receiver.url()))
  // The CLI has no webhook settings of its own: the service fans events out to the URLs it has.
  const made = parsed<Created>(await keys(databaseUrl, ['create', 'globex', '--json']))
  const rotated = parsed<{ key: { id: string } }>(await keys(databaseUrl, ['rotate', made.key_id, '--grace', '1h', '--json']))
  await keys(databaseUrl, ['revoke', rotated.key.id, '--json'])
  await app.webhooks.deliverDue()
  const got = await receiver.waitFor(3)
  t.same(got.map((one) => one.payload.type), ['key.created', 'key.rotated', 'key.revoked'])
  t.match(got[0]!.payload.data, { key: { id: made.key_id }, actor: /^cli:/ })
  t.match(got[0]!.payload.text, /globex/)
  for (const one of got) t.notMatch(one.body, KEY_SHAPE)
})

/** Waits until the condition holds, checking every 10 ms, or fails after `timeoutMs`. */
async function eventually (what: string, condition: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs
  while (!await condition()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`)
    await sleep(10)
  }
}

void t.test('a failed delivery is retried with back-off until it succeeds, or given up after the last attempt', async (t) => {
  const flaky = await startReceiver(t)
  const down = await startReceiver(t)
  flaky.answer(500)
  down.answer(500, 503, 500, 500, 500)
  // The worker's own timer this time, as in service.
  const { app } = await buildTestApp(t, providerEnv(`${flaky.url()},${down.url()}`,
    { WEBHOOK_RETRY_BASE_MS: '50', WEBHOOK_MAX_ATTEMPTS: '3', WEBHOOK_POLL_MS: '10' }))
  const admin = await issueKey(app, 'acme', { scopes: ['keys:manage', 'logs:write', 'logs:read'] })
  t.equal((await callApi(app, admin.apiKey, 'POST', '/api/v1/keys', {})).statusCode, 201)

  const [first, second] = await flaky.waitFor(2)
  t.same([first!.status, second!.status], [500, 200], 'answered 500, then 200')
  t.equal(second!.payload.id, first!.payload.id, 'the same event again')
  t.ok(second!.at - first!.at >= 45, `after the back-off (${second!.at - first!.at} ms)`)

  const downRows = async () => (await outboxRows(app)).filter((row) => row.url === down.url())
  await eventually('the failing delivery given up', async () => ((await downRows())[0]?.failed_at ?? null) !== null)
  const attempts = down.received
  t.same(attempts.map((one) => one.status), [500, 503, 500], 'WEBHOOK_MAX_ATTEMPTS attempts, no more')
  const waits = [attempts[1]!.at - attempts[0]!.at, attempts[2]!.at - attempts[1]!.at]
  t.ok(waits[0]! >= 45 && waits[1]! >= 95, `each wait twice the one before: WEBHOOK_RETRY_BASE_MS, then double (${waits.join(', ')} ms)`)
  t.match((await downRows())[0], { attempts: 3, last_status: 500, last_error: 'answered 500', delivered_at: null })
  t.match((await outboxRows(app)).find((row) => row.url === flaky.url()), { attempts: 2, last_status: 200, failed_at: null })
  await sleep(300)
  t.equal(down.received.length, 3, 'nothing after it was given up')
})

void t.test('a restart loses no event: what one instance wrote, the next one delivers', async (t) => {
  const receiver = await startReceiver(t)
  // The first instance never delivers (WEBHOOK_POLL_MS=0): it stands for one stopped before its worker got there.
  const first = await buildTestApp(t, providerEnv(receiver.url()))
  const admin = await issueKey(first.app, 'acme', { scopes: ['keys:manage', 'logs:write', 'logs:read'] })
  const made = (await callApi(first.app, admin.apiKey, 'POST', '/api/v1/keys', {})).json<CreatedKeyBody>()
  t.equal((await callApi(first.app, admin.apiKey, 'DELETE', `/api/v1/keys/${made.key.id}`)).statusCode, 200)
  await first.app.close()
  t.equal(receiver.received.length, 0, 'nothing sent before the stop')

  const second = await buildTestApp(t, { ...providerEnv(receiver.url()), DATABASE_URL: first.databaseUrl, WEBHOOK_POLL_MS: '20' })
  const got = await receiver.waitFor(2)
  t.same(got.map((one) => one.payload.type), ['key.created', 'key.revoked'], 'the new instance delivers both, by itself')
  await sleep(100)
  t.equal(receiver.received.length, 2, 'once each')
  await second.app.close()
})

void t.test('two instances on one database deliver each event once', async (t) => {
  const receiver = await startReceiver(t)
  const one = await buildTestApp(t, providerEnv(receiver.url()))
  const two = await buildTestApp(t, { ...providerEnv(receiver.url()), DATABASE_URL: one.databaseUrl })
  const admin = await issueKey(one.app, 'acme', { scopes: ['keys:manage', 'logs:write', 'logs:read'] })
  for (let i = 0; i < 25; i++) t.equal((await callApi(i % 2 === 0 ? one.app : two.app, admin.apiKey, 'POST', '/api/v1/keys', {})).statusCode, 201)
  // Both workers at once, over and over, until the outbox is empty.
  await Promise.all([one.app, two.app, one.app, two.app].map(async (app) => {
    while (await app.webhooks.deliverDue() > 0) { /* more */ }
  }))
  const got = await receiver.waitFor(25)
  const ids = got.map((request) => request.payload.id)
  t.equal(new Set(ids).size, 25, 'every event')
  t.equal(ids.length, 25, 'each once')
  t.ok((await outboxRows(one.app)).every((row) => row.attempts === 1), 'each at one attempt')
})

void t.test('a slow endpoint times out, and the key change never waits for it', async (t) => {
  const hanging = createServer(() => { /* never answers */ })
  await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { hanging.closeAllConnections(); hanging.close() })
  const url = `http://127.0.0.1:${(hanging.address() as AddressInfo).port}/slow`
  const { app } = await buildTestApp(t, providerEnv(url, { WEBHOOK_TIMEOUT_MS: '200' }))
  const admin = await issueKey(app, 'acme', { scopes: ['keys:manage', 'logs:write', 'logs:read'] })
  t.equal((await callApi(app, admin.apiKey, 'POST', '/api/v1/keys', {})).statusCode, 201)
  const started = Date.now()
  await app.webhooks.deliverDue()
  const took = Date.now() - started
  t.ok(took >= 190 && took < 2000, `the attempt ends at WEBHOOK_TIMEOUT_MS (${took} ms)`)
  t.match((await outboxRows(app))[0], { attempts: 1, last_status: null, last_error: 'timed out', delivered_at: null, failed_at: null })
})

void t.test('WEBHOOK_URLS needs WEBHOOK_SECRET, and URLs', async (t) => {
  await t.rejects(buildApp({ env: { WEBHOOK_URLS: 'https://hooks.example.com/x' } }), /WEBHOOK_SECRET/)
  await t.rejects(buildApp({ env: { WEBHOOK_URLS: 'https://hooks.example.com/x,ftp://secret-path', WEBHOOK_SECRET: SECRET } }),
    { message: 'WEBHOOK_URLS: entry 2 of 2 is not an http(s) URL.' }, 'names the entry by position, not by its text (a Slack URL is a secret)')
})
