// Bodies built to cost the most to read, sent with a valid key: floods of
// lines, of array elements, of keys, nesting, and compressed bombs of each.
// Each must be answered with a 4xx that the service reaches cheaply (by
// counting, not parsing; src/body/entry-scanner.ts) and store nothing; their
// cost for the event loop is measured in test/slow/hostile-bodies.test.ts.
import { gzipSync } from 'node:zlib'
import type { HostileCase } from './check.ts'
import { keyHeaders, spoil, type Target } from './target.ts'

const cache = new Map<string, Buffer | string>()

/** Built once per name and size: the corpus asks for the same bodies route after route. */
function memo<T extends Buffer | string> (name: string, build: () => T): T {
  if (!cache.has(name)) cache.set(name, build())
  return cache.get(name) as T
}

/** `unit` repeated to about `bytes`, joined by `separator`. */
function repeated (unit: string, separator: string, bytes: number): string {
  return Array.from({ length: Math.floor(bytes / (unit.length + separator.length)) }, () => unit).join(separator)
}

const keys = (bytes: number): string => memo(`keys ${bytes}`, () => {
  const members: string[] = []
  for (let size = 2, i = 0; size < bytes; i++) {
    const member = `"k${i}":0`
    members.push(member)
    size += member.length + 1
  }
  return `{${members.join(',')}}`
})
const zeros = (bytes: number): string => memo(`zeros ${bytes}`, () => `[${repeated('0', ',', bytes - 2)}]`)
const nested = (bytes: number): string => memo(`nested ${bytes}`, () => `${'['.repeat(bytes / 2)}${']'.repeat(bytes / 2)}`)
const gzipped = (name: string, text: () => string): Buffer => memo(`gzip ${name}`, () => gzipSync(text()))

const REFUSED = [400, 413] as const

/** For any route that reads a JSON body: floods within the size limit, and gzip bombs of them past it. */
export function floodCases (target: Target, apiKey: string, limit: number, bombBytes: number): HostileCase[] {
  const json = keyHeaders(apiKey, 'application/json')
  const zipped = { ...json, 'content-encoding': 'gzip' }
  const within = limit - 16
  return [
    spoil(target, apiKey, `flood: an array of ${Math.floor(within / 2)} zeros`, { payload: zeros(within), statuses: REFUSED }),
    spoil(target, apiKey, 'flood: an object of thousands of keys', { payload: keys(within), statuses: REFUSED }),
    spoil(target, apiKey, `flood: arrays nested ${within / 2} deep`, { payload: nested(within), statuses: REFUSED }),
    spoil(target, apiKey, 'bomb: a gzipped array of zeros past the limit',
      { payload: gzipped(`zeros ${bombBytes}`, () => zeros(bombBytes)), headers: zipped, statuses: REFUSED }),
    spoil(target, apiKey, 'bomb: a gzipped object of keys past the limit',
      { payload: gzipped(`keys ${bombBytes}`, () => keys(bombBytes)), headers: zipped, statuses: REFUSED })
  ]
}

/** For the ingest route, whose bodies are counted entry by entry: floods of lines, elements and fields, with the code each must get. */
export function entryFloodCases (target: Target, apiKey: string, limits: { bodyBytes: number, entries: number }, valid: string): HostileCase[] {
  const within = limits.bodyBytes - 16
  const bomb = 4 * limits.bodyBytes
  const ndjson = keyHeaders(apiKey, 'application/x-ndjson')
  const zippedNdjson = { ...ndjson, 'content-encoding': 'gzip' }
  const zippedJson = { ...keyHeaders(apiKey, 'application/json'), 'content-encoding': 'gzip' }
  const tooMany = { statuses: [413], code: 'too_many_entries' }
  const invalid = { statuses: [400], code: 'invalid_entries' }
  const crowded = `{${valid.slice(1, -1)},"attributes":${keys(Math.min(within / 2, 30_000))}}`
  const blankAround = (lines: number): string => Array.from({ length: lines }, () => valid).join('\n'.repeat(Math.floor(within / lines) - valid.length))
  return [
    spoil(target, apiKey, 'flood: NDJSON lines of x', { payload: repeated('x', '\n', within), headers: ndjson, ...tooMany }),
    spoil(target, apiKey, 'bomb: gzipped NDJSON lines of x', { payload: gzipped(`x lines ${bomb}`, () => repeated('x', '\n', bomb)), headers: zippedNdjson, ...tooMany }),
    spoil(target, apiKey, 'flood: NDJSON of blank lines', { payload: '\n'.repeat(within), headers: ndjson, statuses: [400], code: 'empty_batch' }),
    spoil(target, apiKey, 'bomb: gzipped NDJSON of blank lines', {
      payload: gzipped(`blank ${bomb}`, () => '\n'.repeat(bomb)), headers: zippedNdjson, statuses: [413], code: 'payload_too_large'
    }),
    spoil(target, apiKey, `flood: ${limits.entries + 1} NDJSON lines among blank ones`, { payload: blankAround(limits.entries + 1), headers: ndjson, ...tooMany }),
    spoil(target, apiKey, 'flood: NDJSON lines nested deep', { payload: repeated(nested(2000), '\n', within), headers: ndjson, ...invalid }),
    spoil(target, apiKey, 'flood: an NDJSON line of thousands of keys', { payload: `${valid}\n${crowded}`, headers: ndjson, ...invalid }),
    spoil(target, apiKey, 'flood: an array of empty objects', { payload: `[${repeated('{}', ',', within)}]`, ...tooMany }),
    spoil(target, apiKey, 'bomb: a gzipped array of empty arrays', { payload: gzipped(`arrays ${bomb}`, () => `[${repeated('[]', ',', bomb)}]`), headers: zippedJson, ...tooMany }),
    spoil(target, apiKey, 'flood: an entry whose attributes hold thousands of keys', { payload: crowded, ...invalid }),
    spoil(target, apiKey, 'flood: a batch with an entry of thousands of keys', { payload: `[${valid},${crowded}]`, ...invalid }),
    spoil(target, apiKey, 'flood: an entry of thousands of top-level fields', { payload: `{${valid.slice(1, -1)},${keys(within / 2).slice(1)}`, ...invalid })
  ]
}
