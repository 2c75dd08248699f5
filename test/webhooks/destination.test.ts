// Where a tenant's webhook may connect, judged on the addresses a name
// resolves to at the moment of connecting; and the pieces of a delivery
// that need no database: signatures and the back-off.
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { addressProblem, checkEndpointUrl, safeLookup } from '../../src/webhooks/destination.ts'
import { sendWebhook } from '../../src/webhooks/send.ts'
import { signatureHeader, verifySignatureHeader } from '../../src/webhooks/signature.ts'
import { retryDelayMs } from '../../src/webhooks/worker.ts'

const CLOSED = { allowPrivate: false, allowLoopback: false }

void t.test('addresses: public ones only, unless the provider opens private or loopback ones', async (t) => {
  t.equal(addressProblem('93.184.216.34', CLOSED), undefined)
  t.equal(addressProblem('2606:4700::1111', CLOSED), undefined)
  for (const address of ['10.0.0.1', '172.16.5.4', '192.168.1.1', '100.64.0.1', 'fd00::1']) {
    t.match(addressProblem(address, CLOSED), /private/, `${address} closed`)
    t.equal(addressProblem(address, { allowPrivate: true, allowLoopback: false }), undefined, `${address} opened`)
  }
  for (const address of ['127.0.0.1', '127.8.9.10', '::1', '::ffff:127.0.0.1']) {
    t.match(addressProblem(address, CLOSED), /loopback/)
    t.equal(addressProblem(address, { allowPrivate: false, allowLoopback: true }), undefined)
  }
  for (const address of ['169.254.169.254', 'fe80::1', '0.0.0.0', '::', '224.0.0.1', '255.255.255.255', '2001:db8::1']) {
    t.match(addressProblem(address, { allowPrivate: true, allowLoopback: true }), /not a public address/, `${address} never`)
  }
  t.match(addressProblem('nonsense', CLOSED), /not an IP address/)
})

void t.test('a name is judged on what it resolves to when the connection is made', async (t) => {
  const lookup = safeLookup(CLOSED, false)
  const resolved = await new Promise<{ error: Error | null }>((resolve) => {
    lookup('localhost', {}, (error) => { resolve({ error }) })
  })
  t.match(resolved.error?.message, /localhost resolves to a refused address: .* is a loopback address/,
    'a name pointing at loopback is refused at connection time (as a rebinding name would be)')
  const allowed = await new Promise<{ error: Error | null, address: unknown }>((resolve) => {
    safeLookup({ allowPrivate: false, allowLoopback: true }, true)('localhost', { all: true }, (error, address) => { resolve({ error, address }) })
  })
  t.equal(allowed.error, null)
  t.ok(Array.isArray(allowed.address), 'all: true answers every address')
  const missing = await new Promise<Error | null>((resolve) => { lookup('no-such-host.invalid', {}, (error) => { resolve(error) }) })
  t.ok(missing !== null, 'a name that does not resolve fails')

  // And in a real request: http://localhost with loopback closed never connects.
  let called = false
  const server = http.createServer((_request, response) => { called = true; response.end() })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { server.close() })
  const port = (server.address() as AddressInfo).port
  const outcome = await sendWebhook({
    url: `http://localhost:${port}/`, body: '{}', eventId: 'e', secret: 's', policy: CLOSED, timeoutMs: 2000, signal: new AbortController().signal, now: 0
  })
  t.match(outcome, { ok: false, status: null, error: /refused address/ })
  t.notOk(called, 'the receiver was never called')
})

void t.test('URLs: parsed, https, no credentials, bounded', async (t) => {
  t.equal(checkEndpointUrl('https://hooks.slack.com/services/T0/B0/x', CLOSED).host, 'hooks.slack.com')
  t.throws(() => checkEndpointUrl(`https://example.com/${'a'.repeat(2100)}`, CLOSED), /at most 2048/)
  t.throws(() => checkEndpointUrl('http://localhost/', CLOSED), /must be https/)
  t.equal(checkEndpointUrl('http://localhost:9/', { allowPrivate: false, allowLoopback: true }).port, '9')
  t.throws(() => checkEndpointUrl('https://app.localhost/', CLOSED), /loopback name/)
})

void t.test('signatures: Stripe\'s scheme, a tolerance on the timestamp', async (t) => {
  const header = signatureHeader('whsec_x', 1_700_000_000, '{"a":1}')
  t.match(header, /^t=1700000000,v1=[0-9a-f]{64}$/)
  t.ok(verifySignatureHeader('whsec_x', header, '{"a":1}', 1_700_000_100))
  t.notOk(verifySignatureHeader('whsec_x', header, '{"a":1}', 1_700_000_301), 'too old')
  t.notOk(verifySignatureHeader('whsec_x', header, '{"a":2}', 1_700_000_000))
  t.notOk(verifySignatureHeader('whsec_x', 'v1=00', '{"a":1}', 1_700_000_000), 'no timestamp')
  t.ok(verifySignatureHeader('whsec_x', `${header},v1=${'0'.repeat(64)}`, '{"a":1}', 1_700_000_000), 'any of several v1 values')
})

void t.test('the back-off doubles from the base, with jitter, up to the most', async (t) => {
  t.same([1, 2, 3, 4].map((attempts) => retryDelayMs(attempts, 1000, 5000, () => 0)), [1000, 2000, 4000, 5000])
  t.equal(retryDelayMs(1, 1000, 5000, () => 1), 1200, 'jitter up to a fifth more')
  t.equal(retryDelayMs(100, 1000, 3_600_000, () => 0), 3_600_000, 'no overflow after many attempts')
})

void t.test('an answer that starts and never ends is cut at the deadline', async (t) => {
  const server = http.createServer((_request, response) => { response.writeHead(200); response.write('partial') })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { server.closeAllConnections(); server.close() })
  const port = (server.address() as AddressInfo).port
  const started = Date.now()
  const outcome = await sendWebhook({
    url: `http://127.0.0.1:${port}/`, body: '{}', eventId: 'e', secret: 's', timeoutMs: 200, signal: new AbortController().signal, now: 0
  })
  t.match(outcome, { ok: false, status: 200, error: 'timed out' }, 'a 200 whose body never ends is no delivery')
  t.ok(Date.now() - started < 2000)
  const done = await sendWebhook({
    url: `http://127.0.0.1:${port}/`, body: '{}', eventId: 'e', secret: 's', timeoutMs: 200, signal: AbortSignal.abort(), now: 0
  })
  t.match(done, { ok: false }, 'a stop aborts an attempt')
})
