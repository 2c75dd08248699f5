// A Redis that accepts connections and then stops answering (a partition, a
// failover, a paused server) must not hold requests: each use of Redis gives
// up after a short timeout and falls back as it does when Redis is down.
import net from 'node:net'
import t, { type Test } from 'tap'
import { issueSigningSecret } from '../src/clients/settings.ts'
import { buildTestApp, entry, issueKey, postLogs } from './helper.ts'
import { listen, signedCall } from './signing/sign.ts'

/** A Redis impostor: it answers the connection's readiness check (INFO), then nothing at all. */
async function silentRedis (t: Test): Promise<string> {
  const sockets = new Set<net.Socket>()
  const server = net.createServer((socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => {})
    socket.on('data', (chunk) => {
      if (/info/i.test(chunk.toString())) socket.write('$11\r\nloading:0\r\n\r\n')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => {
    for (const socket of sockets) socket.destroy()
    await new Promise((resolve) => server.close(resolve))
  })
  const address = server.address() as net.AddressInfo
  return `redis://127.0.0.1:${address.port}`
}

const SIGNING_KEY = 'stall-test-signing-key-0123456789abcdef012'

void t.test('with Redis silent, requests are answered: unlimited, and signed ones 503', async (t) => {
  const redisUrl = await silentRedis(t)
  const { app } = await buildTestApp(t, { REDIS_URL: redisUrl, SIGNING_KEY, AUTH_FAIL_MAX: '30' })
  const key = await issueKey(app, 'acme')
  const signer = await issueKey(app, 'initech')
  const { secret } = await issueSigningSecret(app.db, signer.clientId, SIGNING_KEY, { actor: 'cli:test' })
  const url = await listen(app)
  await new Promise((resolve) => setTimeout(resolve, 200)) // connected and "ready"

  // Each would hang for good without a command timeout; the file's own timeout would then fail it.
  const read = await app.inject({ method: 'GET', url: '/api/v1/logs', headers: { 'x-api-key': key.apiKey } })
  t.equal(read.statusCode, 200, 'a read is answered without a rate limit')
  t.equal((await postLogs(app, key.apiKey, [entry(), entry()])).statusCode, 201, 'ingest goes on without a volume limit')
  const badKey = await app.inject({ method: 'GET', url: '/api/v1/logs', headers: { 'x-api-key': 'clk_nope' } })
  t.equal(badKey.statusCode, 401, 'a failed authentication is answered (its shared count is given up)')
  const signed = await signedCall(url, { method: 'GET', target: '/api/v1/logs', apiKey: signer.apiKey, secret })
  t.equal(signed.status, 503, 'a signed request cannot have its nonce recorded: 503, not a hang')
  t.equal(signed.body.code, 'nonce_store_unavailable')
})
