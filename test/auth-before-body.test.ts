// The key is judged before any byte of the body is read, over a real socket:
// a refused request is answered while its body is still on the way (or never
// sent, when the client waits for 100 Continue), and its connection closes; a
// key that changes while its body arrives is judged again before the handler.
import { once } from 'node:events'
import net from 'node:net'
import type { AddressInfo } from 'node:net'
import { setTimeout } from 'node:timers/promises'
import { gzipSync } from 'node:zlib'
import type { FastifyInstance } from 'fastify'
import t from 'tap'
import { generateKey } from '../src/keys/format.ts'
import { revokeKey } from '../src/keys/lifecycle.ts'
import { buildTestApp, countLogs, entry, issueKey } from './helper.ts'
import { EVERY_CLIENT } from '../src/provider/every-client.ts'

async function listen (app: FastifyInstance): Promise<number> {
  await app.listen({ host: '127.0.0.1', port: 0 })
  return (app.server.address() as AddressInfo).port
}

interface Exchange {
  socket: net.Socket
  /** Everything received so far. */
  received: () => string
  /** Resolves when the text has been received (or rejects after a while). */
  waitFor: (text: string) => Promise<void>
  closed: Promise<void>
}

function connect (port: number): Exchange {
  const socket = net.connect(port, '127.0.0.1')
  let received = ''
  socket.setEncoding('utf8').on('data', (chunk: string) => { received += chunk })
  const closed = once(socket, 'close').then(() => {})
  return {
    socket,
    received: () => received,
    closed,
    waitFor: async (text) => {
      for (let i = 0; i < 400 && !received.includes(text); i++) await setTimeout(5)
      if (!received.includes(text)) throw new Error(`never received ${JSON.stringify(text)}; got ${JSON.stringify(received)}`)
    }
  }
}

function head (port: number, key: string, length: number, extra: string[] = []): string {
  return ['POST /api/v1/logs HTTP/1.1', `Host: 127.0.0.1:${port}`, 'Content-Type: application/x-ndjson', `Content-Length: ${length}`,
    `X-API-Key: ${key}`, ...extra, '', ''].join('\r\n')
}

void t.test('a made-up key is answered before its body arrives, and the connection closes', async (t) => {
  const { app } = await buildTestApp(t)
  const port = await listen(app)
  // 5 KB of gzip that would inflate to 5 MiB of lines that are not JSON.
  const bomb = gzipSync(Buffer.from('x\n'.repeat(2.5 * 1024 * 1024)))
  const exchange = connect(port)
  const lookups = app.keyResolver.lookups
  // Everything but the last bytes: a body that is never finished.
  exchange.socket.write(head(port, generateKey(), bomb.length, ['Content-Encoding: gzip']))
  exchange.socket.write(bomb.subarray(0, bomb.length - 8))
  await exchange.closed
  t.match(exchange.received(), /^HTTP\/1\.1 401 /, 'answered 401 without the rest of the body')
  t.match(exchange.received(), /connection: close/i)
  t.match(exchange.received(), /"code":"invalid_api_key"/)
  t.equal(app.keyResolver.lookups - lookups, 1, 'one lookup, and nothing inflated or parsed')
})

void t.test('a client that waits for 100 Continue sends no body when its key is refused', async (t) => {
  const { app } = await buildTestApp(t)
  const good = await issueKey(app, 'acme')
  const port = await listen(app)
  const body = `${JSON.stringify(entry({ message: 'after 100 Continue' }))}\n`

  const refused = connect(port)
  refused.socket.write(head(port, generateKey(), body.length, ['Expect: 100-continue']))
  await refused.closed
  t.match(refused.received(), /^HTTP\/1\.1 401 /, 'the final answer comes first')
  t.notMatch(refused.received(), /100 Continue/, 'never told to go on')

  const accepted = connect(port)
  accepted.socket.write(head(port, good.apiKey, body.length, ['Expect: 100-continue']))
  await accepted.waitFor('HTTP/1.1 100 Continue\r\n\r\n')
  t.notMatch(accepted.received(), /201/, 'told to go on, and nothing answered yet')
  accepted.socket.write(body)
  await accepted.waitFor('"accepted":1')
  t.match(accepted.received(), /HTTP\/1\.1 201 /)
  accepted.socket.end()
  t.equal(await countLogs(app), 1)
})

void t.test('a key revoked while its body arrives is refused before the handler', async (t) => {
  const { app } = await buildTestApp(t)
  const doomed = await issueKey(app, 'acme')
  const port = await listen(app)
  const body = `${JSON.stringify(entry())}\n`
  const exchange = connect(port)
  exchange.socket.write(head(port, doomed.apiKey, body.length))
  exchange.socket.write(body.slice(0, 10))
  // The key was resolved when the headers came; now it is revoked elsewhere (the CLI, another instance).
  for (let i = 0; i < 100 && app.keyResolver.cached(doomed.apiKey) === undefined; i++) await setTimeout(5)
  const generation = app.keyResolver.generation
  await revokeKey(app.db, { keyId: doomed.keyId, scope: EVERY_CLIENT }, { actor: 'cli:test' })
  for (let i = 0; i < 200 && app.keyResolver.generation === generation; i++) await setTimeout(5)
  exchange.socket.write(body.slice(10))
  await exchange.waitFor('revoked_api_key')
  t.match(exchange.received(), /^HTTP\/1\.1 401 /)
  exchange.socket.end()
  t.equal(await countLogs(app), 0, 'nothing stored')
})

void t.test('an accepted key costs one lookup, then none: the preHandler takes the resolution made on request', async (t) => {
  const { app } = await buildTestApp(t)
  const good = await issueKey(app, 'acme')
  const lookups = app.keyResolver.lookups
  for (let i = 0; i < 5; i++) {
    const res = await app.inject({ method: 'POST', url: '/api/v1/logs', headers: { 'x-api-key': good.apiKey }, payload: entry() })
    t.equal(res.statusCode, 201)
  }
  t.equal(app.keyResolver.lookups - lookups, 1)
})
