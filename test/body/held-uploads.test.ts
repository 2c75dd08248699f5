// Uploads that are never finished: gzip bodies whose last bytes are withheld
// hold what they inflated to. What all of them hold, and what one address
// holds, never passes its cap (the request past it is answered 503 with
// Retry-After and closed), what a request held is given back however it ends,
// and REQUEST_TIMEOUT_MS cuts an upload that takes too long.
import net from 'node:net'
import type { AddressInfo } from 'node:net'
import { gzipSync } from 'node:zlib'
import type { FastifyInstance } from 'fastify'
import t from 'tap'
import { parseResponses } from '../hostile/raw-http.ts'
import { buildTestApp, issueKey } from '../helper.ts'

const INFLATED = 600_000

/** A POST whose gzip body inflates to INFLATED bytes of a JSON array, its last 8 bytes (the gzip trailer) withheld. */
function withheldUpload (apiKey: string): Buffer {
  const zipped = gzipSync(`[${' '.repeat(INFLATED - 1)}`)
  const head = `POST /api/v1/logs HTTP/1.1\r\nHost: test\r\nX-API-Key: ${apiKey}\r\nContent-Type: application/json\r\n` +
    `Content-Encoding: gzip\r\nContent-Length: ${zipped.length}\r\n\r\n`
  return Buffer.concat([Buffer.from(head), zipped.subarray(0, -8)])
}

interface Upload {
  socket: net.Socket
  /** What the server sent until it closed the connection. */
  answer: Promise<string>
}

function upload (port: number, bytes: Buffer, localAddress = '127.0.0.1'): Upload {
  const socket = net.connect({ port, host: '127.0.0.1', localAddress })
  socket.on('error', () => {})
  socket.write(bytes)
  let received = ''
  const answer = new Promise<string>((resolve) => {
    socket.on('data', (chunk: Buffer) => { received += chunk.toString() })
    socket.on('close', () => { resolve(received) })
  })
  return { socket, answer }
}

/** Resolves once the app holds `bytes` in all (what an upload holds is taken as it arrives, over several turns). */
async function held (app: FastifyInstance, bytes: number): Promise<void> {
  for (let turn = 0; app.bodyBytes.heldBy() !== bytes; turn++) {
    if (turn > 500) throw new Error(`the app holds ${app.bodyBytes.heldBy()} bytes, not ${bytes}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

function statusAndCode (answer: string): string {
  const [response] = parseResponses(Buffer.from(answer))
  if (response === undefined) return 'no answer'
  return `${response.statusCode} ${(JSON.parse(response.body) as { code: string }).code} retry-after=${response.headers['retry-after'] ?? '-'}`
}

async function listening (app: FastifyInstance): Promise<number> {
  await app.listen({ port: 0, host: '127.0.0.1' })
  return (app.server.address() as AddressInfo).port
}

void t.test('one address holds no more than MAX_INFLIGHT_BODY_BYTES_PER_ADDRESS; an upload that ends gives its bytes back', async (t) => {
  const { app } = await buildTestApp(t, { MAX_INFLIGHT_BODY_BYTES_PER_ADDRESS: '1000000', REQUEST_TIMEOUT_MS: '60000' })
  const key = await issueKey(app, 'acme')
  const port = await listening(app)
  const body = withheldUpload(key.apiKey)

  const first = upload(port, body)
  await held(app, INFLATED)
  const second = upload(port, body)
  t.equal(statusAndCode(await second.answer), '503 too_many_body_bytes retry-after=5', 'the upload past the cap is refused, and its connection closed')
  t.ok(app.bodyBytes.peak <= 1_000_000, `at most the cap was ever held (${app.bodyBytes.peak} bytes)`)
  await held(app, INFLATED)

  const other = upload(port, body, '127.0.0.2')
  await held(app, 2 * INFLATED)
  t.equal(app.bodyBytes.heldBy('127.0.0.2'), INFLATED, 'another address has its own share')

  first.socket.destroy()
  other.socket.destroy()
  await held(app, 0)
  t.equal(app.bodyBytes.heldBy('127.0.0.1'), 0, 'a client that goes away leaves nothing held')
})

void t.test('all addresses together hold no more than MAX_INFLIGHT_BODY_BYTES', async (t) => {
  const { app } = await buildTestApp(t, { MAX_INFLIGHT_BODY_BYTES: '1000000', REQUEST_TIMEOUT_MS: '60000' })
  const key = await issueKey(app, 'acme')
  const port = await listening(app)
  const body = withheldUpload(key.apiKey)

  const first = upload(port, body, '127.0.0.3')
  await held(app, INFLATED)
  const second = upload(port, body, '127.0.0.4')
  t.equal(statusAndCode(await second.answer), '503 too_many_body_bytes retry-after=5')
  t.ok(app.bodyBytes.peak <= 1_000_000, `at most the cap was ever held (${app.bodyBytes.peak} bytes)`)
  first.socket.destroy()
  await held(app, 0)
})

void t.test('REQUEST_TIMEOUT_MS cuts an upload that does not finish, answers 408 and gives its bytes back', async (t) => {
  const { app } = await buildTestApp(t, { REQUEST_TIMEOUT_MS: '400' })
  const key = await issueKey(app, 'acme')
  const port = await listening(app)

  const started = performance.now()
  const stalled = upload(port, withheldUpload(key.apiKey))
  const answer = await Promise.race([
    stalled.answer,
    new Promise<string>((resolve) => setTimeout(() => { resolve('still open after 5 s') }, 5000))
  ])
  const took = performance.now() - started
  t.equal(statusAndCode(answer), '408 request_timeout retry-after=-', `answered and closed after ${took.toFixed(0)} ms`)
  t.ok(took < 2000, 'within the timeout and the check interval')
  await held(app, 0)

  const headersOnly = upload(port, Buffer.from('GET /health HTTP/1.1\r\nHost: test\r\n'))
  t.equal(statusAndCode(await headersOnly.answer), '408 request_timeout retry-after=-', 'headers that never end are cut too')
  stalled.socket.destroy()
  headersOnly.socket.destroy()
})
