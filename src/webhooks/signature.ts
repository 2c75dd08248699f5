// Webhook signatures as Stripe makes them: the header
//   Webhook-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>
// The timestamp is signed with the body, so a receiver that refuses an old
// `t` (five minutes is usual) cannot be fed a recorded delivery again.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'

export const SIGNATURE_HEADER = 'webhook-signature'

/** A tenant endpoint's secret: `whsec_` and 256 random bits, so that scanners can tell it from an API key (clk_). */
export function generateEndpointSecret (): string {
  return `whsec_${randomBytes(32).toString('base64url')}`
}

export function signatureOf (secret: string, timestamp: number, body: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')
}

export function signatureHeader (secret: string, timestamp: number, body: string): string {
  return `t=${timestamp},v1=${signatureOf(secret, timestamp, body)}`
}

/**
 * What a receiver does, here for the tests and as the README's model: the
 * header's timestamp within `toleranceSeconds` of now, and one of its v1
 * signatures equal to the expected one, compared in constant time.
 */
export function verifySignatureHeader (secret: string, header: string, body: string, nowSeconds: number, toleranceSeconds = 300): boolean {
  const parts = header.split(',').map((part) => part.trim().split('='))
  const timestamp = Number(parts.find(([name]) => name === 't')?.[1])
  if (!Number.isInteger(timestamp) || Math.abs(nowSeconds - timestamp) > toleranceSeconds) return false
  const expected = Buffer.from(signatureOf(secret, timestamp, body), 'hex')
  return parts.filter(([name]) => name === 'v1').some(([, value]) => {
    const given = Buffer.from(value ?? '', 'hex')
    return given.length === expected.length && timingSafeEqual(given, expected)
  })
}
