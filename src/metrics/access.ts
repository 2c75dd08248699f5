// Who may scrape: with METRICS_TOKEN, only a request that carries it as
// `Authorization: Bearer <token>`. The token is compared as a SHA-256 digest
// in constant time, so neither its content nor its length shows in the time
// a refusal takes.
import { createHash, timingSafeEqual } from 'node:crypto'

const BEARER = /^bearer[ \t]+(\S+)[ \t]*$/i

function digest (text: string): Buffer {
  return createHash('sha256').update(text).digest()
}

/** Whether a request with this Authorization header may read the metrics; any may without a token. */
export function scrapeAccess (token: string | undefined): (authorization: string | undefined) => boolean {
  if (token === undefined || token === '') return () => true
  const expected = digest(token)
  return (authorization) => {
    const presented = BEARER.exec(authorization ?? '')?.[1]
    return presented !== undefined && timingSafeEqual(digest(presented), expected)
  }
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost'])

/** Whether metrics served at this address without a token are open to other machines. */
export function openBeyondLoopback (host: string, token: string | undefined): boolean {
  return (token === undefined || token === '') && !LOOPBACK.has(host)
}
