// Sending signed requests over a real socket, with every part of the signature
// under the test's control, so that each can be got wrong on purpose.
import { randomUUID } from 'node:crypto'
import { createHash } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { signature, splitTarget } from '../../src/signing/canonical.ts'
import { loopbackPort } from '../helper.ts'

export interface SignedCall {
  method: string
  /** Path and query as sent. */
  target: string
  body?: string | Buffer
  headers?: Record<string, string>
  /** What to sign instead of what is sent (to tamper with one part). */
  sign?: { method?: string, target?: string, body?: string | Buffer, apiKey?: string }
  timestamp?: number
  nonce?: string
  secret: string
  apiKey: string
}

export interface Answer { status: number, body: { code?: string, [name: string]: unknown }, headers: Headers }

/** The app's address, listening on a free loopback port. */
export async function listen (app: FastifyInstance): Promise<string> {
  return `http://127.0.0.1:${await loopbackPort(app)}`
}

export async function signedCall (baseUrl: string, call: SignedCall): Promise<Answer & { nonce: string, timestamp: string }> {
  const timestamp = String(call.timestamp ?? Math.floor(Date.now() / 1000))
  const nonce = call.nonce ?? randomUUID()
  const signed = { method: call.method, target: call.target, body: call.body, apiKey: call.apiKey, ...call.sign }
  const { path, sortedQuery } = splitTarget(signed.target)
  const sig = signature(call.secret, {
    timestamp,
    nonce,
    apiKey: signed.apiKey,
    method: signed.method,
    path,
    sortedQuery,
    bodySha256: createHash('sha256').update(signed.body ?? '').digest('hex')
  })
  const res = await fetch(baseUrl + call.target, {
    method: call.method,
    body: call.body,
    headers: {
      'x-api-key': call.apiKey,
      'x-api-timestamp': timestamp,
      'x-api-nonce': nonce,
      'x-api-signature': sig,
      ...(call.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...call.headers
    }
  })
  return { status: res.status, body: await res.json() as Answer['body'], headers: res.headers, nonce, timestamp }
}
