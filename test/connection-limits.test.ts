// MAX_CONNECTIONS and MAX_CONNECTIONS_PER_ADDRESS over real sockets: a
// connection past a cap is answered 503 too_many_connections and closed,
// the ones within it keep working, and a closed connection frees its place.
// Behind a trusted proxy, the proxy's connections count in all only.
import { once } from 'node:events'
import http from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import t, { type Test } from 'tap'
import { buildTestApp } from './helper.ts'

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
  await app.listen({ port: 0, host: '127.0.0.1' })
  return { port: (app.server.address() as AddressInfo).port, accepted }
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
