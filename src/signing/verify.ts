// Checks a signed request (X-API-Timestamp, X-API-Nonce, X-API-Signature) in
// two steps. After its key is resolved: the timestamp within MAX_SKEW_SECONDS
// of this clock and the signature (compared in constant time). Then, after
// the client's rate limit: the nonce, claimed once. So a request with a bad
// signature cannot use up a nonce, and a request over the rate limit costs no
// nonce write (and leaves its nonce unused).
import { timingSafeEqual } from 'node:crypto'
import type { FastifyRequest } from 'fastify'
import { Errors } from '../errors.ts'
import { EMPTY_BODY_SHA256, signature, splitTarget } from './canonical.ts'
import type { NonceStore } from './nonces.ts'

export const MAX_SKEW_SECONDS = 300
/** How long after its timestamp a nonce stays used: the window, and as much again for clocks that disagree. */
export const NONCE_KEPT_SECONDS = 2 * MAX_SKEW_SECONDS
/** A nonce: 16 to 128 printable ASCII characters (a random UUID will do). */
const NONCE = /^[\x21-\x7e]{16,128}$/
const TIMESTAMP = /^[0-9]{1,12}$/
const SIGNATURE = /^[0-9a-fA-F]{64}$/

const HEADERS = ['x-api-timestamp', 'x-api-nonce', 'x-api-signature'] as const

function header (request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name]
  // Node joins repeated headers with ", ", which no valid value contains.
  return Array.isArray(value) ? value.join(', ') : value
}

export interface SignedRequestCheck {
  apiKey: string
  secret: string
  nowMs?: number
}

/** A verified request's nonce, to be claimed. */
export interface SignedNonce {
  nonce: string
  /** Until when it stays used. */
  expiresAt: Date
}

/** The signature and its timestamp; throws the 401 that says what is wrong. */
export function verifySignature (request: FastifyRequest, check: SignedRequestCheck): SignedNonce {
  const missing = HEADERS.filter((name) => (header(request, name) ?? '') === '')
  if (missing.length > 0) throw Errors.signatureRequired(missing)
  const timestamp = header(request, 'x-api-timestamp')!
  const nonce = header(request, 'x-api-nonce')!
  const presented = header(request, 'x-api-signature')!

  if (!TIMESTAMP.test(timestamp)) throw Errors.invalidTimestamp()
  const nowSeconds = Math.floor((check.nowMs ?? Date.now()) / 1000)
  const skew = Number(timestamp) - nowSeconds
  if (Math.abs(skew) > MAX_SKEW_SECONDS) throw Errors.staleTimestamp(skew, nowSeconds, MAX_SKEW_SECONDS)
  if (!NONCE.test(nonce)) throw Errors.invalidNonce()
  if (!SIGNATURE.test(presented)) throw Errors.invalidSignature()

  const { path, sortedQuery } = splitTarget(request.url)
  const expected = signature(check.secret, {
    timestamp,
    nonce,
    apiKey: check.apiKey,
    method: request.method,
    path,
    sortedQuery,
    bodySha256: request.bodySha256 ?? EMPTY_BODY_SHA256
  })
  if (!timingSafeEqual(Buffer.from(expected, 'hex'), Buffer.from(presented, 'hex'))) throw Errors.invalidSignature()

  // Kept well past the moment this instance's clock would refuse the
  // timestamp: another instance, or the database deciding expiry, may run
  // behind, and a nonce forgotten while its timestamp is still accepted
  // somewhere could be replayed there.
  return { nonce, expiresAt: new Date((Number(timestamp) + NONCE_KEPT_SECONDS) * 1000) }
}

/** Uses the nonce up for the client; throws 401 if it was used already, 503 if that cannot be known. */
export async function claimNonce (nonces: NonceStore, clientId: string, signed: SignedNonce): Promise<void> {
  let claimed: boolean
  try {
    claimed = await nonces.claim(clientId, signed.nonce, signed.expiresAt)
  } catch (error) {
    throw Errors.nonceStoreUnavailable(error)
  }
  if (!claimed) throw Errors.nonceReused()
}
