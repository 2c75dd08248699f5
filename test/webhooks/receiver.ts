// A webhook receiver for tests: a real HTTP server on a loopback socket that
// keeps every request it gets and answers each with the next status of a
// script (200 once the script is used up), so that a test can make an
// endpoint fail, then recover, and see exactly what the service sent.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Test } from 'tap'
import type { WebhookPayload } from '../../src/webhooks/events.ts'

export interface Received {
  path: string
  headers: IncomingHttpHeaders
  body: string
  payload: WebhookPayload
  /** The status it was answered with. */
  status: number
  /** When it arrived (Date.now()). */
  at: number
}

export interface Receiver {
  /** The URL of a path on this receiver. */
  url: (path?: string) => string
  received: Received[]
  /** The statuses to answer the next requests with, in order. */
  answer: (...statuses: number[]) => void
  /** Resolves once `count` requests (on `path`, if given) have come, or throws after `timeoutMs`. */
  waitFor: (count: number, options?: { path?: string, timeoutMs?: number }) => Promise<Received[]>
}

export async function startReceiver (t: Test): Promise<Receiver> {
  const received: Received[] = []
  const script: number[] = []
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8')
      const status = script.shift() ?? 200
      received.push({ path: request.url ?? '', headers: request.headers, body, payload: JSON.parse(body) as WebhookPayload, status, at: Date.now() })
      response.writeHead(status, { 'content-type': 'text/plain' }).end(status < 300 ? 'ok' : 'no')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => { await new Promise((resolve) => server.close(resolve)) })
  const { port } = server.address() as AddressInfo
  const on = (path: string | undefined): Received[] => path === undefined ? received : received.filter((one) => one.path === path)
  return {
    url: (path = '/hook') => `http://127.0.0.1:${port}${path}`,
    received,
    answer: (...statuses) => { script.push(...statuses) },
    waitFor: async (count, { path, timeoutMs = 5000 } = {}) => {
      const until = Date.now() + timeoutMs
      while (on(path).length < count) {
        if (Date.now() > until) throw new Error(`expected ${count} webhook requests${path === undefined ? '' : ` on ${path}`}, got ${on(path).length}`)
        await sleep(10)
      }
      return on(path)
    }
  }
}
