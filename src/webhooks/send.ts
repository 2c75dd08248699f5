// One attempt to deliver one event to one endpoint: a POST of the JSON body,
// signed, within a deadline that covers the connection, the answer and its
// body. Redirects are not followed (a 3xx is a failure): following one would
// take the request to an address nobody checked. The answer's body is read
// and dropped, never kept: it is the receiver's, not ours to store.
import http from 'node:http'
import https from 'node:https'
import { safeLookup, type DestinationPolicy } from './destination.ts'
import { SIGNATURE_HEADER, signatureHeader } from './signature.ts'

export interface Attempt {
  url: string
  body: string
  eventId: string
  secret: string
  /** For a client's endpoint: where it may connect. Absent for the provider's own endpoints, which it trusts. */
  policy?: DestinationPolicy
  timeoutMs: number
  /** Aborts the attempt (the service is stopping). */
  signal: AbortSignal
  /** Unix seconds for the signature. */
  now: number
}

export type Outcome = { ok: true, status: number } | { ok: false, status: number | null, error: string }

const USER_AGENT = 'central-logger-webhooks/1'

/** Why a failed attempt failed, in a few words that hold no secret (an endpoint URL may be one). */
function describe (error: unknown): string {
  const { code, name, message } = error as { code?: string, name?: string, message?: string }
  if (name === 'DestinationRefusedError') return message ?? 'refused address'
  if (name === 'AbortError' || name === 'TimeoutError') return 'timed out'
  return code ?? name ?? 'failed'
}

export async function sendWebhook (attempt: Attempt): Promise<Outcome> {
  const url = new URL(attempt.url)
  const secure = url.protocol === 'https:'
  const deadline = AbortSignal.any([AbortSignal.timeout(attempt.timeoutMs), attempt.signal])
  const headers = {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(attempt.body)),
    'user-agent': USER_AGENT,
    'webhook-id': attempt.eventId,
    [SIGNATURE_HEADER]: signatureHeader(attempt.secret, attempt.now, attempt.body)
  }
  return await new Promise<Outcome>((resolve) => {
    let status: number | null = null
    const settle = (outcome: Outcome): void => { resolve(outcome) }
    const failure = (error: unknown): Outcome => ({
      ok: false,
      status,
      // An abort while the answer was arriving still says what it was.
      error: deadline.aborted && !attempt.signal.aborted ? 'timed out' : describe(error)
    })
    const request = (secure ? https : http).request(url, {
      method: 'POST',
      headers,
      signal: deadline,
      agent: false,
      ...(attempt.policy === undefined ? {} : { lookup: safeLookup(attempt.policy, !secure) })
    }, (response) => {
      status = response.statusCode ?? 0
      response.resume()
      // Whichever comes first settles: the end of the answer, or its connection closing (cut off, or by the deadline).
      response.on('close', () => {
        if (!response.complete) settle(failure(new Error('connection closed')))
        else if (status !== null && status >= 200 && status < 300) settle({ ok: true, status })
        else settle({ ok: false, status, error: `answered ${status}` })
      })
      response.on('error', (error) => { settle(failure(error)) })
    })
    request.on('error', (error) => { settle(failure(error)) })
    request.end(attempt.body)
  })
}
