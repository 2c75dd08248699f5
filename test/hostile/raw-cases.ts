// The corpus app.inject cannot express, sent as bytes over a socket: for
// each route, its valid request made malformed at the HTTP level, and for the
// server as a whole, data that is not HTTP at all. Node's HTTP parser refuses
// most of it before any route runs; the service's clientError handler
// (src/plugins/client-errors.ts) must still answer in the JSON error shape.
import { gzipSync } from 'node:zlib'
import { answerProblems } from './check.ts'
import type { Prng } from './prng.ts'
import { exchange, parseResponses, type RawSend } from './raw-http.ts'
import type { Target } from './target.ts'

export interface RawCase {
  name: string
  send: RawSend
  /** The statuses every answer may have, when narrower than any 4xx. */
  statuses?: readonly number[]
  /** The code every answer must carry, when only one is right. */
  code?: string
}

type Header = readonly [string, string | Buffer]

/** An HTTP/1.1 request as bytes; the path and header values may hold any bytes at all. */
export function requestBytes (method: string, path: string | Buffer, headers: readonly Header[], body: string | Buffer = '',
  { host = true, close = true } = {}): Buffer {
  const lines: Buffer[] = [Buffer.from(`${method} `), Buffer.from(path), Buffer.from(' HTTP/1.1\r\n')]
  const all: Header[] = [...(host ? [['Host', 'corpus'] as const] : []), ...headers, ...(close ? [['Connection', 'close'] as const] : [])]
  for (const [name, value] of all) lines.push(Buffer.from(`${name}: `), Buffer.from(value), Buffer.from('\r\n'))
  lines.push(Buffer.from('\r\n'), Buffer.from(body))
  return Buffer.concat(lines)
}

const MALFORMED = { statuses: [400], code: 'malformed_http_request' } as const

function routeCases (target: Target, apiKey: string): RawCase[] {
  const body = target.body ?? ''
  const size = Buffer.byteLength(body)
  const key: Header = ['X-API-Key', apiKey]
  const typed: Header[] = target.body === undefined ? [] : [['Content-Type', 'application/json']]
  const length = (bytes: number): Header => ['Content-Length', String(bytes)]
  /** The valid request with other headers (in place of the key, when one is given) and another body. */
  const sent = (headers: Header[], payload: string | Buffer = body, path: string | Buffer = target.path): Buffer =>
    requestBytes(target.method, path, [...(headers.some(([name]) => /^(x-api-key|authorization)$/i.test(name)) ? [] : [key]), ...typed, ...headers], payload)
  const inPath = (bytes: number[]): Buffer => Buffer.concat([Buffer.from(target.path), Buffer.from(bytes)])
  const named = (name: string): string => `${target.route}: ${name}`
  // A route that takes no body may refuse one sent without a Content-Type (415) as soon as the request's head is
  // judged (its key found in the cache), before the body's broken framing is read; one that reads its body finds it.
  const brokenChunks = target.body === undefined && target.method !== 'GET' ? { statuses: [400, 415] } : MALFORMED
  const cases: RawCase[] = [
    { name: named('a byte that is not UTF-8 in the path'), send: { bytes: sent([length(size)], body, inPath([0xff])) }, ...MALFORMED },
    { name: named('an encoded surrogate in the path'), send: { bytes: sent([length(size)], body, inPath([0xed, 0xa0, 0x80])) }, ...MALFORMED },
    { name: named('a byte that is not UTF-8 in the query'), send: { bytes: sent([length(size)], body, Buffer.concat([inPath([]), Buffer.from('?q='), Buffer.from([0xc3, 0x28])])) }, ...MALFORMED },
    { name: named('a NUL in the path'), send: { bytes: sent([length(size)], body, inPath([0])) }, ...MALFORMED },
    { name: named('a control character in the key'), send: { bytes: sent([['X-API-Key', `${apiKey}\u0001`], length(size)]) }, ...MALFORMED },
    { name: named('a NUL in a header'), send: { bytes: sent([length(size), ['X-Note', 'a\u0000b']]) }, ...MALFORMED },
    { name: named('a CR alone in a header'), send: { bytes: sent([length(size), ['X-Note', 'a\rb']]) }, ...MALFORMED },
    { name: named('a folded header'), send: { bytes: sent([length(size), ['X-Note', 'a\r\n b']]) }, ...MALFORMED },
    { name: named('a space before the colon'), send: { bytes: sent([length(size), ['X-Note ', 'a']]) }, ...MALFORMED },
    { name: named('two Content-Lengths'), send: { bytes: sent([length(size), length(size + 3)]) }, ...MALFORMED },
    { name: named('Content-Length and chunked'), send: { bytes: sent([length(size), ['Transfer-Encoding', 'chunked']]) }, ...MALFORMED },
    { name: named('a Content-Length that is no number'), send: { bytes: sent([['Content-Length', '12abc']]) }, ...MALFORMED },
    { name: named('a negative Content-Length'), send: { bytes: sent([['Content-Length', '-1']]) }, ...MALFORMED },
    { name: named('broken chunks'), send: { bytes: sent([['Transfer-Encoding', 'chunked']], `zz\r\n${body}\r\n0\r\n\r\n`) }, ...brokenChunks },
    { name: named('a bare LF between headers'), send: { bytes: Buffer.from(sent([length(size)]).toString('latin1').replace('\r\nConnection', '\nConnection'), 'latin1') }, ...MALFORMED },
    { name: named('a key twice, different'), send: { bytes: sent([key, ['X-API-Key', `${apiKey.slice(0, -1)}x`], length(size)]) }, statuses: [401] },
    { name: named('x-api-key and bearer disagree'), send: { bytes: sent([key, ['Authorization', 'Bearer clk_other'], length(size)]) }, statuses: [401] },
    { name: named('authorization twice, garbage first'), send: { bytes: sent([['Authorization', 'Basic eA=='], ['Authorization', `Bearer ${apiKey}`], length(size)]) }, statuses: [401] },
    {
      name: named('a byte that is not UTF-8 in the key'),
      send: { bytes: sent([['X-API-Key', Buffer.concat([Buffer.from(apiKey.slice(0, 20)), Buffer.from([0xff]), Buffer.from(apiKey.slice(21))])], length(size)]) },
      statuses: [401]
    },
    {
      // HTTP/1.1 requires Host; the service, not Node.js, refuses a request without one, so the answer is JSON.
      name: named('no Host header'),
      send: { bytes: requestBytes(target.method, target.path, [key, ...typed, length(size)], body, { host: false }) },
      statuses: [400],
      code: 'missing_host_header'
    }
  ]
  // A GET's body is never read, so a GET is answered before its body is found cut off.
  if (target.method !== 'GET') {
    cases.push(
      { name: named('chunks cut off'), send: { bytes: sent([['Transfer-Encoding', 'chunked']], '5\r\n{"a"'), endAfterMs: 50 }, statuses: [400, 415] },
      { name: named('a body longer than announced, then the end of input'), send: { bytes: sent([length(size + 100)]), endAfterMs: 50 }, statuses: [400, 415] }
    )
  }
  if (target.body !== undefined) {
    const zipped = gzipSync(body)
    const notUtf8 = Buffer.concat([Buffer.from(body.slice(0, 2)), Buffer.from([0xfe]), Buffer.from(body.slice(2))])
    cases.push(
      { name: named('a body shorter than announced, then the end of input'), send: { bytes: sent([length(size - 1)], body.slice(0, -2)), endAfterMs: 50 }, statuses: [400] },
      { name: named('a body longer than announced'), send: { bytes: sent([length(size - 3)]) }, statuses: [400] },
      { name: named('cut gzip, honestly announced'), send: { bytes: sent([['Content-Encoding', 'gzip'], length(10)], zipped.subarray(0, 10)) }, statuses: [400], code: 'invalid_compressed_body' },
      { name: named('gzip announced, plain sent'), send: { bytes: sent([['Content-Encoding', 'gzip'], length(size)]) }, statuses: [400], code: 'invalid_compressed_body' },
      { name: named('JSON that is not UTF-8'), send: { bytes: sent([length(size + 1)], notUtf8) }, statuses: [400], code: 'invalid_encoding' },
      {
        // Node.js keeps the first of repeated Content-Types; the one it keeps here is foreign.
        name: named('Content-Type twice, a foreign one first'),
        send: { bytes: requestBytes(target.method, target.path, [key, ['Content-Type', 'text/plain'], ['Content-Type', 'application/json'], length(size)], body) },
        statuses: [415]
      }
    )
  }
  return cases
}

function garbageCases (prng: Prng): RawCase[] {
  const cases: RawCase[] = [
    { name: 'a TLS ClientHello', send: { bytes: Buffer.from('16030100c4010000c00303', 'hex') }, ...MALFORMED },
    { name: 'the HTTP/2 preface', send: { bytes: Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n') }, ...MALFORMED },
    { name: 'an SSH banner', send: { bytes: Buffer.from('SSH-2.0-OpenSSH_9.6\r\n') }, ...MALFORMED },
    { name: 'an unknown method', send: { bytes: requestBytes('FETCH', '/health', []) }, ...MALFORMED },
    { name: 'HTTP/9.9', send: { bytes: Buffer.from('GET /health HTTP/9.9\r\nHost: x\r\n\r\n') }, ...MALFORMED },
    { name: 'a NUL request line', send: { bytes: Buffer.from('\u0000\u0000\u0000\r\n\r\n') }, ...MALFORMED },
    { name: 'headers over 16 KiB', send: { bytes: requestBytes('GET', '/health', [['X-Padding', 'a'.repeat(20_000)]]) }, statuses: [431], code: 'headers_too_large' },
    { name: 'a request line over 16 KiB', send: { bytes: requestBytes('GET', `/health?${'a'.repeat(20_000)}`, []) }, statuses: [431], code: 'headers_too_large' },
    { name: 'half a request line, then the end of input', send: { bytes: Buffer.from('GET /hea'), endAfterMs: 50 }, ...MALFORMED },
    { name: 'half the headers, then the end of input', send: { bytes: Buffer.from('GET /health HTTP/1.1\r\nHost: x\r\nX-A'), endAfterMs: 50 }, ...MALFORMED }
  ]
  for (let i = 0; i < 20; i++) {
    // A first byte that cannot start a method, so the parser refuses at once rather than waiting for more.
    const bytes = Buffer.concat([Buffer.from([prng.pick([0x00, 0x01, 0x16, 0x7f, 0x80, 0xff, 0x20, 0x3a])]), prng.bytes(prng.int(0, 300))])
    cases.push({ name: `random bytes #${i}`, send: { bytes, endAfterMs: 50 }, ...MALFORMED })
  }
  return cases
}

export function rawCases (targets: readonly Target[], apiKey: string, prng: Prng): RawCase[] {
  return [...targets.flatMap((target) => routeCases(target, apiKey)), ...garbageCases(prng)]
}

/** What is wrong with the answers to a raw case: each must be a 4xx JSON error, the first with the expected code. */
export async function rawProblems (port: number, hostile: RawCase, secrets: readonly string[]): Promise<string[]> {
  const { received, closed } = await exchange(port, hostile.send)
  const problems = closed ? [] : ['the server neither answered in full nor closed the connection']
  let answers
  try {
    answers = parseResponses(received)
  } catch (error) {
    return [...problems, (error as Error).message]
  }
  if (answers.length === 0) problems.push('no answer')
  for (const answer of answers) problems.push(...answerProblems(hostile, answer, secrets))
  const first = answers[0]
  if (hostile.code !== undefined && first !== undefined && !first.body.includes(`"code":"${hostile.code}"`)) {
    problems.push(`code is not ${hostile.code}: ${first.body.slice(0, 120)}`)
  }
  return problems
}
