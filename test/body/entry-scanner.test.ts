// The scanner that finds a body's entries before any is parsed: where each
// array element or NDJSON line is, whatever the strings inside hold and
// however the bytes are cut into chunks; how it counts fields; and that it
// stops at the first entry past the limit.
import t from 'tap'
import { EntryScanner, type EntrySpan, type ScanLimits, type ScanMode } from '../../src/body/entry-scanner.ts'
import { fieldsOf } from '../../src/body/read-entries.ts'
import { wrappedBatchStart } from '../../src/body/wrapped-batch.ts'

const LIMITS: ScanLimits = { maxEntries: 1000, maxFields: 1000, maxEntryBytes: 1024 * 1024 }

/** The spans of a body fed in chunks of `chunk` bytes (all at once by default), as the texts they cover. */
function scan (mode: ScanMode, text: string, chunk = Infinity, limits: Partial<ScanLimits> = {}): { texts: string[], spans: EntrySpan[], isArray: boolean } {
  const bytes = Buffer.from(text)
  const scanner = new EntryScanner(mode, { ...LIMITS, ...limits })
  const size = Math.min(chunk, bytes.length)
  for (let at = 0; at < bytes.length; at += size) scanner.feed(bytes.subarray(at, at + size))
  scanner.finish()
  return { texts: scanner.spans.map((span) => bytes.subarray(span.start, span.end).toString()), spans: scanner.spans, isArray: scanner.isArray }
}

const TRICKY = '[{"a":"],[,\\"{"}, "\\\\", {"b":[1,{"c":"\\\\\\""}]} ,[],"x\\u005d" ]'
const TRICKY_ELEMENTS = ['{"a":"],[,\\"{"}', ' "\\\\"', ' {"b":[1,{"c":"\\\\\\""}]} ', '[]', '"x\\u005d" ']

void t.test('a top-level array splits into its elements, strings and escapes included, however it is cut', async (t) => {
  for (const chunk of [Infinity, 1, 2, 3, 7]) {
    const { texts, isArray } = scan('entries', TRICKY, chunk)
    t.ok(isArray)
    t.same(texts, TRICKY_ELEMENTS, `in chunks of ${chunk}`)
    t.same(texts.map((text) => JSON.parse(text) as unknown), JSON.parse(TRICKY), `each element parses to what the whole array holds (chunks of ${chunk})`)
  }
  t.same(scan('entries', '[]').texts, [])
  t.same(scan('entries', ' \ufeff'.slice(1) + ' [ ] ').texts, [], 'a byte order mark and spaces around an empty array')
  t.same(scan('entries', '[1,,2]').texts, ['1', '', '2'], 'an empty element is kept, for JSON.parse to refuse')
  t.same(scan('entries', '[1,]').texts, ['1', ''])
})

void t.test('a body that is not an array is one entry, from its first byte', async (t) => {
  const { texts, isArray } = scan('entries', '  {"a":[1,2]}  ')
  t.notOk(isArray)
  t.same(texts, ['  {"a":[1,2]}  '])
  t.same(scan('whole', '[1,2,3]').texts, ['[1,2,3]'], 'a whole body is never split')
})

void t.test('what cannot be the end of a JSON array is refused while scanning', async (t) => {
  for (const text of ['[1,2', '[1]x', '[1}', '[1] [2]', '["a]']) {
    t.throws(() => scan('entries', text), { code: 'FST_ERR_CTP_INVALID_JSON_BODY' }, text)
  }
})

void t.test('NDJSON: one span per non-blank line, with its line number', async (t) => {
  const body = '{"a":1}\n\n \t\r\n{"b":"x\\"\\n"}\r\n\u000b\u000c\n[1,2]'
  for (const chunk of [Infinity, 1, 4]) {
    const { texts, spans } = scan('ndjson', body, chunk)
    t.same(texts, ['{"a":1}', '{"b":"x\\"\\n"}\r', '[1,2]'], `in chunks of ${chunk}`)
    t.same(spans.map((span) => span.line), [1, 4, 6])
  }
  t.same(scan('ndjson', '"unterminated\n{"a":1}').texts, ['"unterminated', '{"a":1}'], 'a line ends at its newline, even inside a string')
  t.same(scan('ndjson', '\u00a0\n').texts, ['\u00a0'], 'only ASCII whitespace makes a line blank')
})

void t.test('entries are counted as they arrive, and the first one past the limit stops the scan', async (t) => {
  const limits = { maxEntries: 3 }
  t.equal(scan('entries', '[1,2,3]', Infinity, limits).texts.length, 3)
  t.throws(() => scan('entries', '[1,2,3,4', Infinity, limits), { code: 'too_many_entries', statusCode: 413 }, 'before the array even ends')
  t.equal(scan('ndjson', '1\n\n\n2\n \n3\n\n', Infinity, limits).texts.length, 3, 'blank lines do not count')
  t.throws(() => scan('ndjson', `1\n2\n3\n4\n${'x'.repeat(100)}`, Infinity, limits), { code: 'too_many_entries' })
})

void t.test('fields and array items are counted at every depth; an entry with more is marked, not parsed', async (t) => {
  const limits = { maxFields: 5 }
  const five = '{"a":1,"b":[2,3],"c":"{[,,]}"}'
  const six = '{"a":1,"b":[2,3,4],"c":"x"}'
  t.same(scan('entries', `[${five},${six}]`, Infinity, limits).spans.map((span) => span.refusal), [undefined, 'fields'])
  t.same(scan('ndjson', `${six}\n${five}`, 3, limits).spans.map((span) => span.refusal), ['fields', undefined])
  t.equal(scan('entries', '[[[[[[[[1]]]]]]]]', Infinity, limits).spans[0]!.refusal, 'fields', 'nesting counts')
  t.equal(scan('entries', `[${'{}'.repeat(0)}${'[],'.repeat(9)}[]]`, Infinity, limits).spans.length, 10, 'elements are not fields')
  t.throws(() => scan('whole', six, Infinity, limits), { code: 'too_many_fields', statusCode: 413 }, 'a whole body past the count is refused at once')
  t.equal(scan('entries', `["${'x'.repeat(64)}"]`, Infinity, { maxEntryBytes: 32 }).spans[0]!.refusal, 'bytes', 'so is an entry past its byte limit')
})

void t.test('a body parsed whole is counted as the scanner counts it', async (t) => {
  const values = ['{"a":1,"b":[2,3],"c":"{[,,]}"}', '{"a":1,"b":[2,3,4],"c":"x"}', '{}', '[]', '[[[[1]]]]', '{"a":{"b":{"c":[]}}}', '5', '"x,y"',
    '[{"k":[{},{}]},[1,2,3]]']
  for (const text of values) {
    for (const limit of [3, 5, 1000]) {
      const scanned = scan('entries', `[${text}]`, Infinity, { maxFields: limit }).spans[0]!.refusal === 'fields'
      t.equal(fieldsOf(JSON.parse(text), limit) > limit, scanned, `${text} against ${limit} fields`)
    }
  }
  t.equal(fieldsOf(JSON.parse('['.repeat(100_000) + ']'.repeat(100_000)), 10), 11, 'a count stops once past its limit, however deep the value')
})

void t.test('a wrapped batch, {"logs": [...]}, splits into the elements of its array, however it is cut', async (t) => {
  const text = `{ "logs" :\n${TRICKY} }\n`
  const bytes = Buffer.from(text)
  const opening = wrappedBatchStart(bytes)
  t.equal(bytes.subarray(0, opening).toString(), '{ "logs" :\n[', 'the opening, up to the array\'s bracket')
  for (const chunk of [Infinity, 1, 3]) {
    const scanner = new EntryScanner('entries', LIMITS)
    scanner.openWrapped(opening)
    const rest = bytes.subarray(opening)
    const size = Math.min(chunk, rest.length)
    for (let at = 0; at < rest.length; at += size) scanner.feed(rest.subarray(at, at + size))
    scanner.finish()
    t.ok(scanner.isArray)
    t.same(scanner.spans.map((span) => bytes.subarray(span.start, span.end).toString()), TRICKY_ELEMENTS, `in chunks of ${chunk}`)
  }
  const refused = (body: string): void => {
    const scanner = new EntryScanner('entries', LIMITS)
    const wrapped = Buffer.from(body)
    scanner.openWrapped(wrappedBatchStart(wrapped))
    t.throws(() => { scanner.feed(wrapped.subarray(wrappedBatchStart(wrapped))); scanner.finish() }, body)
  }
  refused('{"logs":[1]')
  refused('{"logs":[1]}}')
  refused('{"logs":[1], "x": 2}')
  t.equal(wrappedBatchStart(Buffer.from('{"log":[1]}')), 0, 'another field is no wrapper')
  t.equal(wrappedBatchStart(Buffer.from('{"logs":{"a":1}}')), 0, 'nor is logs holding an object')
})
