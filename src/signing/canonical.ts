// What a signed request signs (contract: timestamp + nonce + apiKey + METHOD +
// path + sortedQuery + sha256hex(body)), spelled out so that a client in any
// language builds the same string:
// - path: the request target before "?", exactly as sent (not decoded);
// - sortedQuery: the query string's "&"-separated parameters exactly as sent
//   (still percent-encoded), empty ones dropped, sorted by name and then by
//   value (plain code-unit order), joined with "&"; "" without a query;
// - body: the bytes sent, before any decompression; a request without a body
//   hashes the empty string.
import { createHash, createHmac } from 'node:crypto'

export const EMPTY_BODY_SHA256 = createHash('sha256').update('').digest('hex')

export interface SignedParts {
  timestamp: string
  nonce: string
  apiKey: string
  method: string
  path: string
  sortedQuery: string
  bodySha256: string
}

function compare (a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

/** The raw query string's parameters in canonical order. */
export function sortedQuery (rawQuery: string): string {
  return rawQuery.split('&').filter((pair) => pair !== '')
    .map((pair) => {
      const at = pair.indexOf('=')
      return at === -1 ? { name: pair, value: '', pair } : { name: pair.slice(0, at), value: pair.slice(at + 1), pair }
    })
    .sort((a, b) => compare(a.name, b.name) || compare(a.value, b.value))
    .map(({ pair }) => pair)
    .join('&')
}

/** Path and canonical query of a request target (`/api/v1/logs?b=2&a=1`). */
export function splitTarget (url: string): { path: string, sortedQuery: string } {
  const at = url.indexOf('?')
  return at === -1 ? { path: url, sortedQuery: '' } : { path: url.slice(0, at), sortedQuery: sortedQuery(url.slice(at + 1)) }
}

export function stringToSign (parts: SignedParts): string {
  return parts.timestamp + parts.nonce + parts.apiKey + parts.method.toUpperCase() + parts.path + parts.sortedQuery + parts.bodySha256
}

/** The X-API-Signature value: lower-case hex HMAC-SHA256 with the signing secret (as UTF-8) as key. */
export function signature (secret: string, parts: SignedParts): string {
  return createHmac('sha256', secret).update(stringToSign(parts)).digest('hex')
}
