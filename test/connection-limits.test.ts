// What one address and all of them together may hold of the service, over
// real sockets: connections, and uploads that are never finished.
import { once } from 'node:events'
import http from 'node:http'
import net, { type Socket } from 'node:net'
import t, { type Test } from 'tap'
import { buildTestApp, issueKey, loopbackPort } from './helper.ts'
import { gzipSync } from 'node:zlib'
import type { FastifyInstance } from 'fastify'
import { parseResponses } from './hostile/raw-http.ts'

// MAX_CONNECTIONS and MAX_CONNECTIONS_PER_ADDRESS over real sockets: a
// connection past a cap is answered 503 too_many_connections and closed,
// the ones within it keep working, and a closed connection frees its place.
// Behind a trusted proxy, the proxy's connections count in all only.
interface Connection {
  agent: http.Agent
  /** GET /health on this connection: the status and, for an error, its code. */
  health: () => Promise<string>
}

const agents: http.Agent[] = []
t.afterEach(() => { for (const agent of agents.splice(0)) agent.destroy() })

/** One kept-alive connection from `localAddress`, opened by its first request; closed when the test ends. */
async function connect (port: number, localAddress: string): Promise<{ connection: Connection, first: string }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
  agents.push(agent)
  const health = async (): Promise<string> => await new Promise((resolve, reject) => {
    http.get({ port, host: '127.0.0.1', localAddress, path: '/health', agent }, (res) => {
      let body = ''
      res.on('data', (chunk: Buffer) => { body += chunk.toString() })
      res.on('end', () => {
        const { code } = JSON.parse(body) as { code?: string }
        resolve(`${res.statusCode ?? 0}${code === undefined ? '' : ` ${code}`}${res.headers['retry-after'] === undefined ? '' : ` retry-after=${res.headers['retry-after']}`}`)
      })
    }).on('error', reject)
  })
  return { connection: { agent, health }, first: await health() }
}

/** The app on a port, and the server's end of every connection it accepted, in order. */
async function listening (t: Test, env: Record<string, string>): Promise<{ port: number, accepted: Socket[] }> {
  const { app } = await buildTestApp(t, env)
  const accepted: Socket[] = []
  app.server.on('connection', (socket: Socket) => { accepted.push(socket) })
  return { port: await loopbackPort(app), accepted }
}

void t.test('one address holds at most MAX_CONNECTIONS_PER_ADDRESS connections', async (t) => {
  const { port, accepted } = await listening(t, { MAX_CONNECTIONS_PER_ADDRESS: '3' })
  const open = []
  for (let i = 0; i < 3; i++) {
    const { connection, first } = await connect(port, '127.0.0.1')
    t.equal(first, '200', `connection ${i + 1} is served`)
    open.push(connection)
  }
  const { first: fourth } = await connect(port, '127.0.0.1')
  t.equal(fourth, '503 too_many_connections retry-after=5', 'the fourth is refused')
  const { connection: elsewhere, first: fromElsewhere } = await connect(port, '127.0.0.2')
  t.equal(fromElsewhere, '200', 'another address is not')
  t.equal(await open[0]!.health(), '200', 'the connections within the cap go on serving')

  // The server's end of the first connection closes; its place is free once it has.
  const closing = once(accepted[0]!, 'close')
  open[0]!.agent.destroy()
  await closing
  const { connection: replacement, first: again } = await connect(port, '127.0.0.1')
  t.equal(again, '200', 'a closed connection frees its place')
  open[0] = replacement
  t.equal(await elsewhere.health(), '200')
})

void t.test('all addresses together hold at most MAX_CONNECTIONS', async (t) => {
  const { port } = await listening(t, { MAX_CONNECTIONS: '3', MAX_CONNECTIONS_PER_ADDRESS: '100' })
  const open = []
  for (const address of ['127.0.0.1', '127.0.0.2', '127.0.0.3']) {
    const { connection, first } = await connect(port, address)
    t.equal(first, '200')
    open.push(connection)
  }
  const { first } = await connect(port, '127.0.0.4')
  t.equal(first, '503 too_many_connections retry-after=5', 'a fourth address is refused: the service is full')
  t.equal(await open[0]!.health(), '200')
})

void t.test('behind a trusted proxy, the proxy is not held to the per-address cap', async (t) => {
  const { port } = await listening(t, { MAX_CONNECTIONS_PER_ADDRESS: '2', TRUST_PROXY: '127.0.0.1' })
  const open = []
  for (let i = 0; i < 4; i++) {
    const { connection, first } = await connect(port, '127.0.0.1')
    t.equal(first, '200', `proxy connection ${i + 1} is served`)
    open.push(connection)
  }
  const { first } = await connect(port, '127.0.0.2')
  t.equal(first, '200')
  const { connection, first: second } = await connect(port, '127.0.0.2')
  t.equal(second, '200')
  const { first: third } = await connect(port, '127.0.0.2')
  t.equal(third, '503 too_many_connections retry-after=5', 'an address that is no trusted proxy still is')
  t.equal(await open[3]!.health(), '200')
  t.equal(await connection.health(), '200')
})

// Uploads that are never finished: gzip bodies whose last bytes are withheld
// hold what they inflated to. What all of them hold, and what one address
// holds, never passes its cap (the request past it is answered 503 with
// Retry-After and closed), what a request held is given back however it ends,
// and REQUEST_TIMEOUT_MS cuts an upload that takes too long.
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

void t.test('one address holds no more than MAX_INFLIGHT_BODY_BYTES_PER_ADDRESS; an upload that ends gives its bytes back', async (t) => {
  const { app } = await buildTestApp(t, { MAX_INFLIGHT_BODY_BYTES_PER_ADDRESS: '1000000', REQUEST_TIMEOUT_MS: '60000' })
  const key = await issueKey(app, 'acme')
  const port = await loopbackPort(app)
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
  const port = await loopbackPort(app)
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
  const port = await loopbackPort(app)

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
