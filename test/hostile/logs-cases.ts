// The log routes' corpus: entries wrong in every field and every way of
// sending them, list queries wrong in every filter, and ids that are no log
// of the caller's.
import { deflateSync, gzipSync } from 'node:zlib'
import { authCases } from './auth-cases.ts'
import { DEEP_VALUES, envelopeCases, INVALID_UTF8, poisoned } from './bodies.ts'
import type { HostileCase } from './check.ts'
import { entryFloodCases } from './exhaustion-cases.ts'
import { members, raw, toJson } from './json.ts'
import type { Prng } from './prng.ts'
import { hostileIds, malformedQueryCases, query, repeatedParamCases, unknownParamCases } from './query.ts'
import { keyHeaders, spoil, type Target } from './target.ts'
import {
  ABSURD_NUMBERS, BAD_DATE_TIMES, BROKEN_PERCENT, CONTROL_CHARACTERS, ENCODED_CONTROLS, ENCODED_INVALID_UTF8, SQL_FRAGMENTS,
  encode, hostileText, unstorableText
} from './values.ts'
import { MAX_BATCH_ENTRIES, MAX_BODY_BYTES, type World } from './world.ts'

const VALID_ENTRY = { environment: 'production', executed_at: '2026-11-20T10:00:00.000Z', status: 'SUCCESS', message: 'corpus neighbour' }
const MISSING = Symbol('missing')
const long = (length: number): string => 'x'.repeat(length)
const NOT_A_STRING = [0, -1, true, null, [], {}, ['x'], raw('1e309')]

// Every field of a log entry, each with values its rules refuse.
const FIELD_BADS: Record<string, readonly unknown[]> = {
  environment: [MISSING, '', long(65), long(5000), ...NOT_A_STRING],
  executed_at: [MISSING, ...BAD_DATE_TIMES, '0000-01-01T00:00:00Z', '0000-12-31T23:59:59+01:00', 1700000000, raw('1.7e12'), ...NOT_A_STRING],
  status: [MISSING, '', long(33), ...NOT_A_STRING],
  event_id: ['', long(129), ...NOT_A_STRING],
  // Level names of common loggers in any case, and pino's numbers from 0 up, are levels (level-names.ts).
  level: ['loud', 'infos', '', 'info\u0000', -1, -0.5, ...NOT_A_STRING.filter((value) => typeof value !== 'number')],
  message: [...NOT_A_STRING],
  workflow_id: [long(257), ...NOT_A_STRING],
  workflow_name: [long(257), ...NOT_A_STRING],
  run_id: [long(257), ...NOT_A_STRING],
  step: [long(257), ...NOT_A_STRING],
  // 1e-400 reads as 0 and a 30-digit number as a finite one: both valid durations, left out.
  duration_ms: [-1, -0.001, '12', '', null, true, [], {}, ...ABSURD_NUMBERS.filter((token) => !['1e-400', '123456789012345678901234567890'].includes(token.text))],
  trace_id: [long(65), ...NOT_A_STRING],
  attributes: [
    'x', 0, [], null, true, [1], { a: 'x\u0000' }, { a: { b: '\ud800' } }, { a: raw('1e309') }, { a: raw('NaN') },
    members(['a\u0000', 1]), members(['\udc00', 1]), ...Object.values(DEEP_VALUES).map((deep) => ({ a: deep }))
  ]
}
const TEXT_FIELDS = ['environment', 'status', 'event_id', 'message', 'workflow_id', 'workflow_name', 'run_id', 'step', 'trace_id']

function entryWith (changes: ReadonlyArray<readonly [string, unknown]>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...VALID_ENTRY }
  for (const [field, value] of changes) {
    if (value === MISSING) delete out[field]
    else out[field] = value
  }
  return out
}

function describeValue (value: unknown): string {
  if (value === MISSING) return 'missing'
  const text = toJson(value)
  return text.length > 24 ? `${text.slice(0, 20)}…(${text.length})` : text
}

interface Sent { payload: string | Buffer, headers?: Record<string, string>, query?: string }

// The ways one bad entry can arrive: alone, among good ones (an atomic
// batch), as NDJSON, compressed, and with an explicit ?partial=false.
const ENVELOPES: Record<string, (bad: string, prng: Prng) => Sent> = {
  single: (bad) => ({ payload: bad }),
  'in a batch': (bad, prng) => ({ payload: `[${batchAround(bad, prng).join(',')}]` }),
  'in NDJSON': (bad, prng) => ({ payload: batchAround(bad, prng).join('\n'), headers: { 'content-type': 'application/x-ndjson' } }),
  'in a gzipped batch': (bad, prng) => ({ payload: gzipSync(`[${batchAround(bad, prng).join(',')}]`), headers: { 'content-encoding': 'gzip' } }),
  'in deflated NDJSON': (bad, prng) => ({
    payload: deflateSync(batchAround(bad, prng).join('\n')),
    headers: { 'content-type': 'application/x-ndjson', 'content-encoding': 'deflate' }
  }),
  'in a batch, partial=false': (bad, prng) => ({ payload: `[${batchAround(bad, prng).join(',')}]`, query: '?partial=false' }),
  'single, partial=true': (bad) => ({ payload: bad, query: '?partial=true' })
}

/** Valid entries with the bad one at a random place. */
function batchAround (bad: string, prng: Prng): string[] {
  const entries = Array.from({ length: prng.int(0, 4) }, () => JSON.stringify(VALID_ENTRY))
  entries.splice(prng.int(0, entries.length), 0, bad)
  return entries
}

function ingestCase (target: Target, world: World, name: string, sent: Sent): HostileCase {
  return spoil(target, world.admin.apiKey, name, {
    payload: sent.payload,
    url: `${target.path}${sent.query ?? ''}`,
    headers: { ...keyHeaders(world.admin.apiKey, 'application/json'), ...sent.headers }
  })
}

function fieldCases (target: Target, world: World, prng: Prng): HostileCase[] {
  const cases: HostileCase[] = []
  for (const [field, values] of Object.entries(FIELD_BADS)) {
    for (const value of values) {
      cases.push(ingestCase(target, world, `${field} ${describeValue(value)}`, { payload: toJson(entryWith([[field, value]])) }))
    }
  }
  for (const field of TEXT_FIELDS) {
    for (let i = 0; i < 2; i++) {
      cases.push(ingestCase(target, world, `${field} unstorable #${i}`, { payload: toJson(entryWith([[field, unstorableText(prng)]])) }))
    }
  }
  cases.push(ingestCase(target, world, 'field both top-level and in attributes', { payload: toJson(entryWith([['team', 'a'], ['attributes', { team: 'b' }]])) }))
  return cases
}

/** Random entries wrong in one to three fields, each sent in a random envelope. */
function mixedCases (target: Target, world: World, prng: Prng, count: number): HostileCase[] {
  const fields = Object.keys(FIELD_BADS)
  return Array.from({ length: count }, (_, i) => {
    const changes = Array.from({ length: prng.int(1, 3) }, () => {
      const field = prng.pick(fields)
      return [field, prng.pick(FIELD_BADS[field]!)] as const
    })
    const envelope = prng.pick(Object.keys(ENVELOPES))
    const bad = toJson(entryWith(changes))
    return ingestCase(target, world, `mixed #${i} ${envelope}: ${changes.map(([field]) => field).join('+')}`, ENVELOPES[envelope]!(bad, prng))
  })
}

function shapeCases (target: Target, world: World): HostileCase[] {
  const valid = JSON.stringify(VALID_ENTRY)
  const shapes: Record<string, string> = {
    null: 'null',
    number: '1',
    string: '"an entry"',
    boolean: 'true',
    'empty batch': '[]',
    'batch of null': '[null]',
    'batch of an empty batch': '[[]]',
    'batch of scalars': '[1,"a",false]',
    'empty object': '{}',
    'batch of an empty object': '[{}]',
    'batch inside a batch': `[[${valid}]]`,
    'entries keyed by index': `{"0":${valid}}`,
    'status given twice, last bad': `${valid.slice(0, -1)},"status":5}`,
    'environment given twice, last empty': `${valid.slice(0, -1)},"environment":""}`,
    'executed_at given twice, last bad': `${valid.slice(0, -1)},"executed_at":"yesterday"}`
  }
  return Object.entries(shapes).map(([name, payload]) => ingestCase(target, world, `body is ${name}`, { payload }))
}

function poisonCases (target: Target, world: World): HostileCase[] {
  const places: Record<string, (value: unknown) => unknown> = {
    'top level': (value) => value,
    'in attributes': (value) => ({ ...VALID_ENTRY, attributes: value }),
    'deep in attributes': (value) => ({ ...VALID_ENTRY, attributes: { a: [{ b: value }] } }),
    'as a batch element': (value) => [VALID_ENTRY, value]
  }
  const cases: HostileCase[] = []
  for (const [place, put] of Object.entries(places)) {
    for (const [kind, payload] of Object.entries(poisoned(put))) cases.push(ingestCase(target, world, `${kind} ${place}`, { payload }))
  }
  for (const [kind, line] of Object.entries(poisoned((value) => value))) {
    cases.push(ingestCase(target, world, `${kind} in NDJSON`, { payload: `${JSON.stringify(VALID_ENTRY)}\n${line}`, headers: { 'content-type': 'application/x-ndjson' } }))
  }
  // Prototype names that are plain data where they stand, in an entry that is bad for another reason.
  for (const name of ['constructor', 'prototype', '__defineGetter__', 'toString']) {
    cases.push(ingestCase(target, world, `${name} member, status missing`, { payload: toJson(entryWith([['status', MISSING], [name, { prototype: 1 }]])) }))
  }
  return cases
}

function deepCases (target: Target, world: World): HostileCase[] {
  return Object.entries(DEEP_VALUES).flatMap(([name, deep]) => [
    ingestCase(target, world, `${name} in an unknown member`, { payload: toJson(entryWith([['extra', deep]])) }),
    ingestCase(target, world, `${name} as the message`, { payload: toJson(entryWith([['message', deep]])) }),
    ingestCase(target, world, `${name} as the body`, { payload: toJson(deep) })
  ])
}

function sizeCases (target: Target, world: World): HostileCase[] {
  const valid = JSON.stringify(VALID_ENTRY)
  const many = (count: number): string[] => Array.from({ length: count }, () => valid)
  const emptyMessage = JSON.stringify(entryWith([['message', '']]))
  return [
    ingestCase(target, world, 'body one byte over the limit', { payload: JSON.stringify(entryWith([['message', long(MAX_BODY_BYTES - emptyMessage.length + 1)]])) }),
    ingestCase(target, world, 'message of 64 KiB + 1', { payload: JSON.stringify(entryWith([['message', long(65_537)]])) }),
    ingestCase(target, world, 'attributes over their limit', { payload: JSON.stringify(entryWith([['attributes', { a: long(70_000) }]])) }),
    ingestCase(target, world, 'one entry too many', { payload: `[${many(MAX_BATCH_ENTRIES + 1).join(',')}]` }),
    ingestCase(target, world, 'one NDJSON line too many', { payload: many(MAX_BATCH_ENTRIES + 1).join('\n'), headers: { 'content-type': 'application/x-ndjson' } }),
    ingestCase(target, world, 'a thousand entries', { payload: `[${many(1000).join(',')}]` }),
    ingestCase(target, world, 'a thousand tiny entries', { payload: `[${Array.from({ length: 1000 }, () => '{}').join(',')}]` }),
    ingestCase(target, world, 'too many entries, gzipped', { payload: gzipSync(`[${many(MAX_BATCH_ENTRIES + 1).join(',')}]`), headers: { 'content-encoding': 'gzip' } })
  ]
}

function ndjsonCases (target: Target, world: World, prng: Prng): HostileCase[] {
  const valid = JSON.stringify(VALID_ENTRY)
  const ndjson = (name: string, payload: string | Buffer): HostileCase =>
    ingestCase(target, world, `NDJSON ${name}`, { payload, headers: { 'content-type': 'application/x-ndjson' } })
  const cases = [
    ndjson('of blank lines', '\n\n \n\r\n'),
    ndjson('of one broken line', `${valid}\n{"environment":`),
    ndjson('of a batch line', `[${valid}]`),
    ndjson('of a null line', `${valid}\nnull`),
    ndjson('with CR-only line ends', `${valid}\r${valid}`),
    ndjson('of JSON split over lines', valid.replaceAll(',', ',\n'))
  ]
  INVALID_UTF8.forEach((bytes, i) => {
    cases.push(ndjson(`with an invalid UTF-8 line #${i}`, Buffer.concat([Buffer.from(`${valid}\n`), Buffer.from(valid.slice(0, 20)), bytes, Buffer.from(valid.slice(20))])))
  })
  for (let i = 0; i < 4; i++) cases.push(ndjson(`of random text #${i}`, hostileText(prng, prng.int(1, 60))))
  return cases
}

function ingestQueryCases (target: Target, world: World, prng: Prng): HostileCase[] {
  const batch = `[${JSON.stringify(VALID_ENTRY)}]`
  const withQuery = (name: string, text: string): HostileCase => ingestCase(target, world, name, { payload: batch, query: text })
  const cases = ['yes', '1', '0', '', 'TRUE', 'null', encode('true\u0000'), 'true&partial=false', 'true&partial=true'].map((value) =>
    withQuery(`partial=${value}`, `?partial=${value}`))
  cases.push(withQuery('partial[]', '?partial[]=true'))
  cases.push(...unknownParamCases({ ...target, body: batch }, world.admin.apiKey, prng))
  cases.push(...malformedQueryCases({ ...target, body: batch }, world.admin.apiKey, 'partial'))
  return cases
}

export function ingestCases (target: Target, world: World, prng: Prng): HostileCase[] {
  return [
    ...fieldCases(target, world, prng),
    ...mixedCases(target, world, prng, 60),
    ...shapeCases(target, world),
    ...poisonCases(target, world),
    ...deepCases(target, world),
    ...sizeCases(target, world),
    ...ndjsonCases(target, world, prng),
    ...ingestQueryCases(target, world, prng),
    ...envelopeCases(target, world.admin.apiKey, JSON.stringify(VALID_ENTRY), prng, 4 * MAX_BODY_BYTES),
    ...entryFloodCases(target, world.admin.apiKey, { bodyBytes: MAX_BODY_BYTES, entries: MAX_BATCH_ENTRIES }, JSON.stringify(VALID_ENTRY)),
    ...authCases(target, world, prng)
  ]
}

// The list's text filters, with their longest allowed value.
const TEXT_FILTERS: Record<string, number> = { status: 32, environment: 64, workflow_id: 256, run_id: 256, q: 256 }

const QUERY_BADS: Record<string, readonly string[]> = {
  limit: ['0', '-1', '1001', '1e309', 'NaN', 'abc', '1.5', '', '99999999999999999999', '-0', 'Infinity', '1,2', 'null', 'true', encode('1\u0000'), '0x'],
  order: ['DESC', 'Asc', 'random', '', encode('desc; DROP TABLE logs'), 'asc%00', encode(' desc')],
  level: ['INFO', 'verbose', '', '%00', encode("' OR 1=1 --"), encode('info ')],
  from: BAD_DATE_TIMES.map(encode),
  to: BAD_DATE_TIMES.map(encode)
}

function textFilterCases (target: Target, world: World, prng: Prng): HostileCase[] {
  const cases: HostileCase[] = []
  const filterCase = (name: string, filter: string, value: string, expected: Partial<HostileCase> = {}): HostileCase =>
    spoil(target, world.admin.apiKey, `${filter} ${name}`, { url: target.path + query([[filter, value]]), ...expected })
  for (const [filter, max] of Object.entries(TEXT_FILTERS)) {
    cases.push(filterCase('empty', filter, ''))
    cases.push(filterCase('NUL alone', filter, '%00'))
    cases.push(filterCase('NUL inside', filter, 'a%00b'))
    cases.push(filterCase('SQL then NUL', filter, `${encode(prng.pick(SQL_FRAGMENTS))}%00`))
    cases.push(filterCase('control then NUL', filter, `${prng.pick(ENCODED_CONTROLS)}%00`))
    cases.push(filterCase('one over the length', filter, encode(hostileText(prng, max + 1))))
    cases.push(filterCase('ten times the length', filter, encode(long(max * 10))))
    // Not searched for as literal text (or as U+FFFD): the query string itself is refused.
    for (const text of [ENCODED_INVALID_UTF8[0], BROKEN_PERCENT[2]]) {
      cases.push(filterCase(`not UTF-8: ${text}`, filter, text, { statuses: [400], code: 'malformed_query' }))
    }
  }
  return cases
}

function cursorCases (target: Target, world: World, prng: Prng): HostileCase[] {
  const { cursor } = world
  const [data = '', signature = ''] = cursor.split('.')
  const flip = (text: string, at: number): string => {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
    const other = alphabet[(alphabet.indexOf(text[at]!) + prng.int(1, 63)) % 64]!
    return text.slice(0, at) + other + text.slice(at + 1)
  }
  const cursors: Record<string, string> = {
    empty: '',
    'over 512 characters': 'a'.repeat(513),
    'one part': data,
    'three parts': `${cursor}.x`,
    'signature only': `.${signature}`,
    'data only': `${data}.`,
    dot: '.',
    'upper-cased': cursor.toUpperCase(),
    'standard base64 alphabet': cursor.replaceAll('-', '+').replaceAll('_', '/') + (cursor.includes('-') || cursor.includes('_') ? '' : '+'),
    padded: `${data}==.${signature}`,
    'with NUL': `${cursor}\u0000`,
    'JSON instead': '{"c":"x","o":"desc","t":"2026-11-20T10:00:00Z","i":"x"}',
    'unsigned payload of another client': `${Buffer.from(JSON.stringify({ c: world.other.clientId, o: 'desc', t: '2026-11-20T10:00:00.000Z', i: world.otherLogIds[0] })).toString('base64url')}.${signature}`
  }
  for (let i = 0; i < 8; i++) cursors[`data flipped #${i}`] = `${flip(data, prng.int(0, data.length - 1))}.${signature}`
  for (let i = 0; i < 6; i++) cursors[`signature flipped #${i}`] = `${data}.${flip(signature, prng.int(0, signature.length - 1))}`
  for (let i = 0; i < 10; i++) cursors[`base64 garbage #${i}`] = `${prng.bytes(prng.int(1, 90)).toString('base64url')}${prng.chance(0.5) ? `.${prng.bytes(32).toString('base64url')}` : ''}`
  const cases = Object.entries(cursors).map(([name, value]) =>
    spoil(target, world.admin.apiKey, `cursor ${name}`, { url: target.path + query([['cursor', encode(value)]]) }))
  cases.push(spoil(target, world.admin.apiKey, 'cursor of the other tenant', { url: target.path + query([['cursor', world.otherCursor]]) }))
  cases.push(spoil(target, world.admin.apiKey, 'desc cursor with order=asc', { url: target.path + query([['cursor', cursor], ['order', 'asc']]) }))
  cases.push(spoil(target, world.admin.apiKey, 'asc cursor in the default order', { url: target.path + query([['cursor', world.ascCursor]]) }))
  cases.push(spoil(target, world.admin.apiKey, 'asc cursor with order=desc', { url: target.path + query([['cursor', world.ascCursor], ['order', 'desc']]) }))
  cases.push(spoil(target, world.admin.apiKey, 'cursor twice', { url: target.path + query([['cursor', cursor], ['cursor', world.ascCursor]]) }))
  return cases
}

/** One case per bad value of each parameter, alone in the query string. */
function badValueCases (target: Target, world: World, bads: Record<string, readonly string[]>): HostileCase[] {
  const cases: HostileCase[] = []
  for (const [name, values] of Object.entries(bads)) {
    values.forEach((value, i) => cases.push(spoil(target, world.admin.apiKey, `${name} #${i} ${decodeSafely(value)}`, { url: target.path + query([[name, value]]) })))
  }
  return cases
}

/** Random valid parameters (up to four of `good`) around one bad parameter, in random order. */
function mixedParamCases (target: Target, world: World, prng: Prng, bads: Record<string, readonly string[]>,
  good: ReadonlyArray<readonly [string, string]>, count: number): HostileCase[] {
  return Array.from({ length: count }, (_, i) => {
    const name = prng.pick(Object.keys(bads))
    const bad = [name, prng.pick(bads[name]!)] as const
    const others = prng.shuffle(good.filter(([other]) => other !== name)).slice(0, prng.int(0, 4))
    return spoil(target, world.admin.apiKey, `mixed #${i}: ${name}`, { url: target.path + query(prng.shuffle([...others, bad])) })
  })
}

export function listCases (target: Target, world: World, prng: Prng): HostileCase[] {
  const cases: HostileCase[] = badValueCases(target, world, QUERY_BADS)
  cases.push(...textFilterCases(target, world, prng))
  cases.push(...cursorCases(target, world, prng))
  cases.push(...repeatedParamCases(target, world.admin.apiKey, {
    limit: ['1', '2'],
    order: ['asc', 'desc'],
    level: ['info', 'error'],
    from: ['2026-01-01T00:00:00Z', '2026-02-01T00:00:00Z'],
    to: ['2026-01-01T00:00:00Z', '2026-02-01T00:00:00Z'],
    status: ['a', 'b'],
    environment: ['a', 'b'],
    workflow_id: ['a', 'b'],
    run_id: ['a', 'b'],
    q: ['a', 'b']
  }))
  cases.push(...unknownParamCases(target, world.admin.apiKey, prng, [['limit', '5']]))
  cases.push(...malformedQueryCases(target, world.admin.apiKey, 'cursor'))
  const good: Array<readonly [string, string]> = [['limit', '5'], ['order', 'asc'], ['status', 'success'], ['level', 'info'], ['environment', 'production'],
    ['q', encode(prng.pick(SQL_FRAGMENTS))], ['from', encode('2026-01-01T00:00:00Z')], ['to', encode('2027-01-01T00:00:00+01:00')]]
  cases.push(...mixedParamCases(target, world, prng, QUERY_BADS, good, 40))
  cases.push(...authCases(target, world, prng))
  return cases
}

const EXPORT_BADS: Record<string, readonly string[]> = {
  format: ['NDJSON', 'json', 'xlsx', encode('csv '), '', encode('csv\u0000'), encode('ndjson; DROP TABLE logs'), 'tsv'],
  order: QUERY_BADS.order!,
  level: QUERY_BADS.level!,
  from: QUERY_BADS.from!,
  to: QUERY_BADS.to!,
  // The listing's paging parameters mean nothing to an export: unknown, so refused.
  limit: ['5', '1000'],
  cursor: ['abc']
}

export function exportCases (target: Target, world: World, prng: Prng): HostileCase[] {
  const cases: HostileCase[] = badValueCases(target, world, EXPORT_BADS)
  cases.push(...textFilterCases(target, world, prng))
  cases.push(...repeatedParamCases(target, world.admin.apiKey, {
    format: ['ndjson', 'csv'],
    order: ['asc', 'desc'],
    level: ['info', 'error'],
    from: ['2026-01-01T00:00:00Z', '2026-02-01T00:00:00Z'],
    status: ['a', 'b'],
    q: ['a', 'b']
  }))
  cases.push(...unknownParamCases(target, world.admin.apiKey, prng, [['format', 'csv']]))
  cases.push(...malformedQueryCases(target, world.admin.apiKey, 'format'))
  const good: Array<readonly [string, string]> = [['format', 'csv'], ['order', 'desc'], ['status', 'success'], ['level', 'info'], ['environment', 'production'],
    ['q', encode(prng.pick(SQL_FRAGMENTS))], ['from', encode('2026-01-01T00:00:00Z')], ['to', encode('2027-01-01T00:00:00+01:00')]]
  cases.push(...mixedParamCases(target, world, prng, EXPORT_BADS, good, 40))
  return cases
}

const STATS_BADS: Record<string, readonly string[]> = {
  interval: ['week', 'Hour', 'HOUR', 'minutes', '', '1h', '3600', '%00', encode('hour; DROP TABLE logs'), encode(' hour'), 'hour%00'],
  group_by: ['run_id', 'message', 'client_id', 'Status', '', 'status,level', '%00', encode("status' OR 1=1 --"), encode('workflow_id ')],
  level: QUERY_BADS.level!,
  from: QUERY_BADS.from!,
  to: QUERY_BADS.to!
}

/** Ranges the stats route refuses: from not before to, or more than 1,500 buckets. */
const STATS_RANGES: Array<[string, ReadonlyArray<readonly [string, string]>]> = [
  ['from equal to to', [['from', '2026-11-20T10:00:00Z'], ['to', '2026-11-20T10:00:00Z']]],
  ['from after to', [['from', '2026-11-21T00:00:00Z'], ['to', '2026-11-20T00:00:00Z']]],
  ['from in the future, to by default', [['from', '2999-01-01T00:00:00Z']]],
  ['a year by hour', [['from', '2026-01-01T00:00:00Z'], ['to', '2027-01-01T00:00:00Z']]],
  ['a month by minute', [['from', '2026-11-01T00:00:00Z'], ['to', '2026-12-01T00:00:00Z'], ['interval', 'minute']]],
  ['1,501 minutes', [['from', '2026-11-20T00:00:00Z'], ['to', encode('2026-11-21T01:01:00+00:00')], ['interval', 'minute']]],
  ['millennia by day', [['from', '0001-01-01T00:00:00Z'], ['to', '9999-12-31T23:59:59Z'], ['interval', 'day']]],
  ['to by default, from long ago', [['from', '1970-01-01T00:00:00Z'], ['interval', 'day']]]
]

export function statsCases (target: Target, world: World, prng: Prng): HostileCase[] {
  const cases: HostileCase[] = badValueCases(target, world, STATS_BADS)
  for (const [name, pairs] of STATS_RANGES) cases.push(spoil(target, world.admin.apiKey, name, { url: target.path + query(pairs), statuses: [400] }))
  cases.push(...textFilterCases(target, world, prng))
  cases.push(...repeatedParamCases(target, world.admin.apiKey, {
    interval: ['hour', 'day'],
    group_by: ['status', 'level'],
    level: ['info', 'error'],
    from: ['2026-01-01T00:00:00Z', '2026-02-01T00:00:00Z'],
    to: ['2026-01-02T00:00:00Z', '2026-02-02T00:00:00Z'],
    status: ['a', 'b'],
    q: ['a', 'b']
  }))
  cases.push(...unknownParamCases(target, world.admin.apiKey, prng, [['interval', 'day']]))
  for (const name of ['limit', 'order', 'cursor', 'top']) cases.push(spoil(target, world.admin.apiKey, `list parameter ${name}`, { url: target.path + query([[name, '1']]) }))
  cases.push(...malformedQueryCases(target, world.admin.apiKey, 'group_by'))
  const good: Array<readonly [string, string]> = [['interval', 'day'], ['group_by', 'workflow_id'], ['status', 'success'], ['level', 'info'],
    ['environment', 'production'], ['q', encode(prng.pick(SQL_FRAGMENTS))], ['from', encode('2026-11-01T00:00:00Z')], ['to', encode('2026-12-01T00:00:00+01:00')]]
  cases.push(...mixedParamCases(target, world, prng, STATS_BADS, good, 30))
  for (const method of ['POST', 'PUT', 'PATCH', 'DELETE'] as const) cases.push(spoil(target, world.admin.apiKey, `${method} on stats`, { method }))
  cases.push(...authCases(target, world, prng))
  return cases
}

export function logByIdCases (target: Target, world: World, prng: Prng): HostileCase[] {
  const base = target.path.slice(0, target.path.lastIndexOf('/') + 1)
  const cases = Object.entries(hostileIds(prng, world.otherLogIds, 70)).map(([name, id]) =>
    spoil(target, world.admin.apiKey, `id ${name}`, { url: `${base}${id}` }))
  for (const method of ['POST', 'PUT', 'PATCH', 'DELETE'] as const) {
    cases.push(spoil(target, world.admin.apiKey, `${method} on a log`, { method }))
  }
  for (const control of CONTROL_CHARACTERS) {
    cases.push(spoil(target, world.admin.apiKey, `id with ${JSON.stringify(control)}`, { url: `${base}${encode(`${world.ownLogIds[0]!}${control}`)}` }))
  }
  cases.push(spoil(target, world.admin.apiKey, 'own log with an unknown parameter', { url: `${target.path}?foo=1` }))
  cases.push(...unknownParamCases(target, world.admin.apiKey, prng), ...malformedQueryCases(target, world.admin.apiKey, 'fields'))
  cases.push(...authCases(target, world, prng))
  return cases
}

function decodeSafely (value: string): string {
  try {
    return decodeURIComponent(value).slice(0, 30)
  } catch {
    return value.slice(0, 30)
  }
}

/**
 * Filters that look hostile but are valid text: SQL fragments and control
 * characters (no NUL) within each filter's length. They are not in the
 * corpus, as a 200 is right for them; what must hold is that they match no
 * seeded log, as a fragment that reached the SQL as SQL would widen the query.
 */
export function harmlessHostileQueries (): Array<{ name: string, url: string }> {
  const queries: Array<{ name: string, url: string }> = []
  for (const [filter, max] of Object.entries(TEXT_FILTERS)) {
    for (const [i, text] of [...SQL_FRAGMENTS, ...CONTROL_CHARACTERS].filter((text) => text.length <= max).entries()) {
      queries.push({ name: `${filter} #${i} ${JSON.stringify(text)}`, url: `/api/v1/logs${query([[filter, encode(text)]])}` })
    }
  }
  return queries
}
