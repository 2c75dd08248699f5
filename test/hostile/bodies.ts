// Hostile request bodies for any route that reads JSON: what surrounds the
// JSON (Content-Type, Content-Encoding, Content-Length, size) and what breaks
// it (syntax, bytes that are not UTF-8, prototype keys, depth).
import { Readable } from 'node:stream'
import { deflateRawSync, deflateSync, gzipSync } from 'node:zlib'
import type { HostileCase } from './check.ts'
import { floodCases } from './exhaustion-cases.ts'
import { members, nestedArrays, nestedObjects, raw, toJson } from './json.ts'
import type { Prng } from './prng.ts'
import { keyHeaders, spoil, type Target } from './target.ts'

/** Types no route parses: the body, however good, is not read (415). */
export const FOREIGN_CONTENT_TYPES = [
  'text/plain', 'text/html', 'application/xml', 'text/xml', 'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=corpus', 'application/octet-stream', 'application/json-seq', 'application/jsonl',
  'application/vnd.api+json', 'application/javascript', 'image/png', 'json', 'application/', '/json', ';', '*/*',
  'application/json, text/plain', 'application/json\u0000', 'application/x-ndjson\r\nx-injected: 1'
] as const

/** Content-Encodings the service does not speak (415). */
export const FOREIGN_ENCODINGS = ['br', 'compress', 'zstd', 'gzip, br', 'gzip;q=1.0', '*', 'x-compress', 'gzip gzip', 'deflate, gzip', 'chunked'] as const

/** UTF-8 that is not: a stray continuation byte, a cut sequence, an overlong form, an encoded surrogate, a 5-byte form. */
export const INVALID_UTF8 = [
  Buffer.from([0xff]), Buffer.from([0x80]), Buffer.from([0xc3]), Buffer.from([0xc0, 0xaf]),
  Buffer.from([0xed, 0xa0, 0x80]), Buffer.from([0xf8, 0x88, 0x80, 0x80, 0x80]), Buffer.from([0xe2, 0x80]), Buffer.from([0xf4, 0x90, 0x80, 0x80])
] as const

/** JSON text that does not parse, built from a valid body (a way of breaking it that leaves it as it was is left out). */
export function brokenJson (valid: string, prng: Prng): Record<string, string> {
  const cut = prng.int(1, valid.length - 1)
  const broken: Record<string, string> = {
    [`cut at ${cut}`]: valid.slice(0, cut),
    'cut before the last brace': valid.slice(0, -1),
    'trailing garbage': `${valid}x`,
    'two documents': `${valid}${valid}`,
    'trailing comma': `${valid.slice(0, -1)},}`,
    'line comment': `// note\n${valid}`,
    'block comment': `/* note */${valid}`,
    'single quotes': valid.replaceAll('"', "'"),
    'unquoted names': valid.replace(/"([a-z_]+)":/g, '$1:'),
    'bad escape': `${valid.slice(0, -1)},"x":"\\x41"}`,
    'short unicode escape': `${valid.slice(0, -1)},"x":"\\u12"}`,
    'raw control character': `${valid.slice(0, -1)},"x":"a\u0001b"}`,
    'NaN token': `${valid.slice(0, -1)},"x":NaN}`,
    'BOM then broken': `\ufeff${valid.slice(0, -1)}`,
    'only whitespace': ' \n\t ',
    'only a NUL': '\u0000'
  }
  return Object.fromEntries(Object.entries(broken).filter(([, text]) => text !== valid))
}

/** The JSON body with invalid UTF-8 spliced into its first string value. */
export function withInvalidUtf8 (valid: string, bytes: Buffer): Buffer {
  const at = valid.indexOf('":"') + 3
  if (at < 3) return Buffer.concat([Buffer.from(valid), bytes])
  return Buffer.concat([Buffer.from(valid.slice(0, at)), bytes, Buffer.from(valid.slice(at))])
}

/**
 * A compressed body whose compressed bytes are damaged (past the header, so
 * that the damage is read). Never in the last byte before the 8-byte trailer:
 * its high bits may be the deflate stream's padding, which no reader looks at.
 */
function damaged (compressed: Buffer, prng: Prng): Buffer {
  const copy = Buffer.from(compressed)
  const pick = prng.int(10, copy.length - 2)
  const at = pick >= copy.length - 9 ? pick + 1 : pick
  copy[at] = copy[at]! ^ (1 << prng.int(0, 7))
  return copy
}

/**
 * A gzip body of empty deflate blocks, `totalBytes` long at most, as a stream
 * (sent without Content-Length, as a chunked body is): it inflates to nothing,
 * so only the compressed bytes counted as they arrive can reach the size limit.
 */
function emptyBlocks (totalBytes: number): Readable {
  const header = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff])
  // 00 00 00 ff ff: a stored block, not the last, of length 0 (LEN 0000, NLEN ffff).
  const blocks = Buffer.alloc(65_535)
  for (let at = 0; at < blocks.length; at += 5) blocks.set([0, 0, 0, 0xff, 0xff], at)
  function * chunks (): Generator<Buffer> {
    yield header
    for (let sent = header.length; sent < totalBytes; sent += blocks.length) yield blocks
  }
  return Readable.from(chunks(), { objectMode: false })
}

/** Bodies that fail in decompression or decompress past the size limit. */
export function compressionCases (target: Target, apiKey: string, valid: string, prng: Prng, bombBytes: number): HostileCase[] {
  const encoded = (name: string, encoding: string, payload: Buffer | string): HostileCase =>
    spoil(target, apiKey, `content-encoding ${encoding}: ${name}`, { payload, headers: { ...keyHeaders(apiKey, 'application/json'), 'content-encoding': encoding } })
  const zipped = gzipSync(valid)
  const deflated = deflateSync(valid)
  const cases = [
    encoded('gzip bomb', 'gzip', gzipSync(Buffer.alloc(bombBytes, 0x20))),
    encoded('deflate bomb', 'deflate', deflateSync(Buffer.alloc(bombBytes, 0x20))),
    encoded('bomb of nested arrays', 'gzip', gzipSync(`{"a":${'['.repeat(bombBytes / 2)}${']'.repeat(bombBytes / 2)}}`)),
    spoil(target, apiKey, 'content-encoding gzip: empty blocks past the limit, chunked', {
      payload: emptyBlocks(bombBytes),
      headers: { ...keyHeaders(apiKey, 'application/json'), 'content-encoding': 'gzip', 'transfer-encoding': 'chunked' },
      statuses: [413],
      code: 'payload_too_large'
    }),
    encoded('plain body', 'gzip', valid),
    encoded('plain body', 'deflate', valid),
    encoded('empty body', 'gzip', ''),
    encoded('gzip magic only', 'gzip', Buffer.from([0x1f, 0x8b])),
    encoded('gzip bytes', 'deflate', zipped),
    encoded('raw deflate bytes', 'deflate', deflateRawSync(valid)),
    encoded('deflate bytes', 'gzip', deflated),
    encoded('trailing garbage', 'gzip', Buffer.concat([zipped, Buffer.from('garbage')])),
    encoded('crc damaged', 'gzip', Buffer.concat([zipped.subarray(0, -8), Buffer.alloc(4, 0xee), zipped.subarray(-4)])),
    encoded('length damaged', 'gzip', Buffer.concat([zipped.subarray(0, -4), Buffer.alloc(4, 0xee)])),
    encoded('gzipped twice, one header', 'gzip', gzipSync(zipped)),
    encoded('gzip bytes unannounced', 'identity', zipped),
    encoded('random bytes', 'gzip', prng.bytes(64)),
    encoded('random bytes', 'deflate', prng.bytes(64))
  ]
  for (let i = 0; i < 4; i++) {
    const cut = prng.int(1, zipped.length - 1)
    cases.push(encoded(`cut at ${cut}`, 'gzip', zipped.subarray(0, cut)))
  }
  for (let i = 0; i < 2; i++) cases.push(encoded(`cut deflate #${i}`, 'deflate', deflated.subarray(0, prng.int(1, deflated.length - 1))))
  for (let i = 0; i < 3; i++) cases.push(encoded(`damaged #${i}`, 'gzip', damaged(zipped, prng)))
  for (const encoding of FOREIGN_ENCODINGS) cases.push(encoded('foreign encoding', encoding, zipped))
  return cases
}

/** Everything around and inside a JSON body that is wrong, with the valid body of the target as the starting point. */
export function envelopeCases (target: Target, apiKey: string, valid: string, prng: Prng, bombBytes: number, bodyLimit = bombBytes / 4): HostileCase[] {
  const cases: HostileCase[] = []
  for (const type of FOREIGN_CONTENT_TYPES) {
    cases.push(spoil(target, apiKey, `content-type ${JSON.stringify(type)}`, { headers: keyHeaders(apiKey, type) }))
  }
  // The ingest route reads a body without a Content-Type as NDJSON (log senders post it so): there, it is broken NDJSON.
  const untyped = target.route === 'POST /api/v1/logs' ? valid.slice(0, -1) : valid
  cases.push(spoil(target, apiKey, 'a body without content-type', { payload: untyped, headers: keyHeaders(apiKey) }))
  cases.push(spoil(target, apiKey, 'form-encoded body', { payload: 'name=x&scopes=logs:read', headers: keyHeaders(apiKey, 'application/x-www-form-urlencoded') }))
  cases.push(spoil(target, apiKey, 'xml body', { payload: '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>', headers: keyHeaders(apiKey, 'application/xml') }))
  cases.push(spoil(target, apiKey, 'multipart body', { payload: '--corpus\r\nContent-Disposition: form-data; name="name"\r\n\r\nx\r\n--corpus--\r\n', headers: keyHeaders(apiKey, 'multipart/form-data; boundary=corpus') }))
  for (const [name, payload] of Object.entries(brokenJson(valid, prng))) cases.push(spoil(target, apiKey, `broken JSON: ${name}`, { payload }))
  INVALID_UTF8.forEach((bytes, i) => cases.push(spoil(target, apiKey, `invalid UTF-8 #${i}`, { payload: withInvalidUtf8(valid, bytes) })))
  cases.push(spoil(target, apiKey, 'invalid UTF-8, gzipped', {
    payload: gzipSync(withInvalidUtf8(valid, Buffer.from([0xff]))),
    headers: { ...keyHeaders(apiKey, 'application/json'), 'content-encoding': 'gzip' }
  }))
  cases.push(spoil(target, apiKey, 'UTF-16 body', { payload: Buffer.from(`\ufeff${valid}`, 'utf16le') }))
  cases.push(...compressionCases(target, apiKey, valid, prng, bombBytes))
  cases.push(...floodCases(target, apiKey, bodyLimit, bombBytes))
  cases.push(...lyingLengthCases(target, apiKey, valid))
  return cases
}

function lyingLengthCases (target: Target, apiKey: string, valid: string): HostileCase[] {
  const lie = (name: string, length: string): HostileCase =>
    spoil(target, apiKey, `content-length ${name}`, { headers: { ...keyHeaders(apiKey, 'application/json'), 'content-length': length } })
  const size = Buffer.byteLength(valid)
  return [lie('short by one', String(size - 1)), lie('long by one', String(size + 1)), lie('zero', '0'), lie('huge', '10737418240')]
}

/** Objects carrying `__proto__` or `constructor.prototype`, which JSON parsing must refuse, at the given place. */
export function poisoned (place: (value: unknown) => unknown): Record<string, string> {
  return {
    '__proto__ member': toJson(place(members(['__proto__', { polluted: true }]))),
    '__proto__ null': toJson(place(members(['__proto__', null]))),
    'constructor.prototype': toJson(place({ constructor: { prototype: { polluted: true } } })),
    'escaped __proto__': toJson(place(raw('{"\\u005f_proto__":{"polluted":true}}')))
  }
}

/** Values nested far deeper than any schema or store allows. */
export const DEEP_VALUES: Record<string, unknown> = {
  '10,000 nested arrays': nestedArrays(10_000),
  '10,000 nested objects': nestedObjects(10_000),
  '30,000 nested arrays': nestedArrays(30_000)
}
