// /health and /ready take no input: a query string or a body is ignored
// (200), a method they do not answer gets the JSON 404, a Content-Encoding
// the service does not speak a 415, a query string that is not
// percent-encoded UTF-8 the 400 every route gives it, and nothing is ever a 5xx.
import { deflateSync, gzipSync } from 'node:zlib'
import { FOREIGN_ENCODINGS } from './bodies.ts'
import type { HostileCase } from './check.ts'
import type { Prng } from './prng.ts'
import { BROKEN_PERCENT, ENCODED_CONTROLS, ENCODED_INVALID_UTF8, SQL_FRAGMENTS, encode, hostileText } from './values.ts'

export function healthCases (path: '/health' | '/ready', prng: Prng): HostileCase[] {
  const probe = (name: string, parts: Partial<HostileCase> = {}): HostileCase =>
    ({ name, method: 'GET', url: path, mayPass: true, ...parts })
  const cases: HostileCase[] = []
  for (const text of [...ENCODED_CONTROLS, ...SQL_FRAGMENTS.map(encode)]) {
    cases.push(probe(`query ${text}`, { url: `${path}?x=${text}` }))
    cases.push(probe(`query name ${text}`, { url: `${path}?${text}=1` }))
  }
  for (const text of [...ENCODED_INVALID_UTF8, ...BROKEN_PERCENT]) {
    const refused = { mayPass: false, statuses: [400], code: 'malformed_query' } as const
    cases.push(probe(`query ${text}`, { url: `${path}?x=${text}`, ...refused }))
    cases.push(probe(`query name ${text}`, { url: `${path}?${text}=1`, ...refused }))
  }
  for (let i = 0; i < 20; i++) cases.push(probe(`random query #${i}`, { url: `${path}?${encode(hostileText(prng, prng.int(1, 30)))}` }))
  cases.push(probe('a long query', { url: `${path}?${'a=1&'.repeat(5000)}` }))
  cases.push(probe('a repeated parameter', { url: `${path}?a=1&a=2&a=3` }))
  for (const method of ['POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const) {
    cases.push(probe(`${method}`, { method, mayPass: false }))
    cases.push(probe(`${method} with a JSON body`, { method, mayPass: false, headers: { 'content-type': 'application/json' }, payload: '{"status":"down"}' }))
  }
  for (const suffix of ['/', '%00', '%2F', '/..', '.json', '/x']) cases.push(probe(`path ${path}${suffix}`, { url: `${path}${suffix}`, mayPass: false }))
  cases.push(probe('upper case', { url: path.toUpperCase(), mayPass: false }))
  for (const encoding of FOREIGN_ENCODINGS) cases.push(probe(`content-encoding ${encoding}`, { headers: { 'content-encoding': encoding } }))
  // A GET body is never read; a compressed one that cannot be inflated must not upset the process either.
  const bodies: Record<string, [string, Buffer | string]> = {
    'gzip, not gzip': ['gzip', 'not gzip at all'],
    'gzip, cut': ['gzip', gzipSync('{"a":1}').subarray(0, 8)],
    'deflate, not deflate': ['deflate', 'not deflate either'],
    'deflate bomb': ['deflate', deflateSync(Buffer.alloc(4 * 1024 * 1024))],
    'gzip, random bytes': ['gzip', prng.bytes(200)]
  }
  for (const [name, [encoding, payload]] of Object.entries(bodies)) {
    cases.push(probe(`GET with a body: ${name}`, { headers: { 'content-encoding': encoding, 'content-type': 'application/json' }, payload }))
  }
  cases.push(probe('a key that is no key', { headers: { 'x-api-key': 'garbage\u0000', authorization: 'Basic x' } }))
  return cases
}
