// POST /api/v1/logs: what is stored and how, every validation rule, atomic
// and partial batches, and idempotency by event_id (contract section 4).
import { deflateSync, gzipSync } from 'node:zlib'
import t from 'tap'
import type { ErrorBody } from '../../src/errors.ts'
import type { BatchResultBody, RejectionBody, StoredLogBody } from '../../src/logs/schemas.ts'
import { buildTestApp, countLogs, entry, expectError, issueKey, postLogs } from '../helper.ts'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

function issuesOf (body: ErrorBody): RejectionBody[] {
  return Array.isArray(body.details) ? body.details as RejectionBody[] : []
}

function nested (levels: number): Record<string, unknown> {
  let value: Record<string, unknown> = { leaf: true }
  for (let i = 1; i < levels; i++) value = { a: value }
  return value
}

void t.test('a single object is stored and answered with the stored log', async (t) => {
  const { app } = await buildTestApp(t)
  const key = await issueKey(app, 'acme')
  // The fields stored as sent; the others below are normalised or moved.
  const verbatim = {
    event_id: 'evt-single',
    environment: 'staging',
    message: 'disk full',
    workflow_id: 'wf-1',
    workflow_name: 'Nightly ETL',
    run_id: 'run-7',
    step: 'load',
    duration_ms: 1234.5,
    trace_id: '4bf92f3577b34da6a3ce929d0e0e4736'
  }
  const res = await postLogs(app, key.apiKey, {
    ...verbatim,
    executed_at: '2026-11-20T12:34:56.789123+02:00',
    status: 'failure',
    attributes: { host: 'db-1', nested: { depth: 2 } },
    region: 'eu-west',
    retries: 3
  })
  t.equal(res.statusCode, 201)
  const log = res.json<StoredLogBody>()
  t.match(log.id, UUID)
  t.equal(log.status, 'FAILURE', 'status is upper-cased')
  t.equal(log.level, 'info', 'level defaults to info')
  t.equal(log.executed_at, '2026-11-20T10:34:56.789Z', 'executed_at in UTC, to the millisecond')
  t.same(log.attributes, { host: 'db-1', nested: { depth: 2 }, region: 'eu-west', retries: 3 },
    'unknown top-level fields are kept inside attributes, beside the explicit ones')
  t.notOk('region' in log, 'an unknown field is not echoed at the top level')
  t.notOk('client_id' in log, 'the tenant columns stay internal')
  t.notOk('key_id' in log)
  t.match(log, verbatim)
  t.notOk(Number.isNaN(Date.parse(log.received_at)), 'received_at is a time')
  t.notOk(res.headers['idempotent-replayed'], 'a first write is not a replay')

  const row = await app.db.selectFrom('logs').selectAll().where('id', '=', log.id).executeTakeFirst()
  t.ok(row, 'the row is in the database')
  t.equal(row?.client_id, key.clientId, 'stored under the key\'s client')
  t.equal(row?.key_id, key.keyId, 'stored with the key that wrote it')
  t.equal(row?.status, 'FAILURE')
  t.equal(row?.level, 'info')
  t.equal(row?.executed_at.toISOString(), '2026-11-20T10:34:56.789Z')
  t.same(row?.attributes, { host: 'db-1', nested: { depth: 2 }, region: 'eu-west', retries: 3 })
  t.equal(row?.received_at.toISOString(), log.received_at)
})

void t.test('a status is limited as stored: 32 characters once upper-cased', async (t) => {
  const { app } = await buildTestApp(t)
  const key = await issueKey(app, 'acme')
  // 16 characters sent, 32 stored: at the limit, and accepted.
  const res = await postLogs(app, key.apiKey, entry({ status: '\u00df'.repeat(16) }))
  t.equal(res.statusCode, 201)
  t.equal(res.json<StoredLogBody>().status, 'S'.repeat(32))
  // One more, and the stored text would pass the limit, though what was sent is far below it.
  const body = expectError(t, await postLogs(app, key.apiKey, entry({ status: '\u00df'.repeat(17) })), 400, 'invalid_entries')
  t.match(body.details, [{ index: 0, field: 'status', code: 'too_long', message: /once upper-cased.*34 characters/ }])
  const stored = await app.db.selectFrom('logs').select('status').execute()
  t.same(stored.map((row) => row.status.length), [32], 'nothing longer than 32 characters was stored')
})

void t.test('an entry with neither attributes nor unknown fields stores null attributes, an explicit level is kept', async (t) => {
  const { app } = await buildTestApp(t)
  const key = await issueKey(app, 'acme')
  const res = await postLogs(app, key.apiKey, entry({ level: 'warn', executed_at: '2026-11-20T10:00:00Z' }))
  t.equal(res.statusCode, 201)
  const log = res.json<StoredLogBody>()
  t.equal(log.attributes, null)
  t.equal(log.level, 'warn')
  t.equal(log.executed_at, '2026-11-20T10:00:00.000Z')
  t.equal(log.message, null)
})

void t.test('the client comes from the key, never from the body', async (t) => {
  const { app } = await buildTestApp(t)
  const acme = await issueKey(app, 'acme')
  const other = await issueKey(app, 'other')
  const res = await postLogs(app, acme.apiKey, entry({ client_id: other.clientId, key_id: other.keyId }))
  t.equal(res.statusCode, 201)
  const log = res.json<StoredLogBody>()
  const row = await app.db.selectFrom('logs').selectAll().where('id', '=', log.id).executeTakeFirstOrThrow()
  t.equal(row.client_id, acme.clientId)
  t.equal(row.key_id, acme.keyId)
  t.same(row.attributes, { client_id: other.clientId, key_id: other.keyId }, 'the body\'s claims are kept as plain attributes')
  t.equal(await countLogs(app, other.clientId), 0, 'nothing lands in the other tenant')
})

void t.test('ingest needs a key with logs:write', async (t) => {
  const { app } = await buildTestApp(t)
  const readOnly = await issueKey(app, 'reader', { scopes: ['logs:read'] })
  const anonymous = await app.inject({ method: 'POST', url: '/api/v1/logs', payload: entry() })
  expectError(t, anonymous, 401, 'missing_api_key')
  expectError(t, await postLogs(app, readOnly.apiKey, entry()), 403, 'insufficient_scope')
  t.equal(await countLogs(app), 0)
})

void t.test('a JSON array answers accepted, duplicates and ids in request order', async (t) => {
  const { app } = await buildTestApp(t)
  const key = await issueKey(app, 'acme')
  // executed_at runs backwards so that no time order can pass for request order.
  const batch = [
    entry({ message: 'first', executed_at: '2026-11-20T12:00:00Z' }),
    entry({ message: 'second', executed_at: '2026-11-20T11:00:00Z', status: 'running' }),
    entry({ message: 'third', executed_at: '2026-11-20T10:00:00Z', extra: 'kept' })
  ]
  const res = await postLogs(app, key.apiKey, batch)
  t.equal(res.statusCode, 201)
  const body = res.json<BatchResultBody>()
  t.equal(body.accepted, 3)
  t.equal(body.duplicates, 0)
  t.equal(body.ids.length, 3)
  t.notOk('rejected' in body, 'no rejected list outside partial mode')
  const rows = await app.db.selectFrom('logs').select(['id', 'message', 'client_id', 'status', 'attributes']).execute()
  t.equal(rows.length, 3)
  const byId = new Map(rows.map((row) => [row.id, row]))
  t.same(body.ids.map((id) => byId.get(id ?? '')?.message), ['first', 'second', 'third'])
  t.ok(rows.every((row) => row.client_id === key.clientId))
  t.equal(byId.get(body.ids[1] ?? '')?.status, 'RUNNING')
  t.same(byId.get(body.ids[2] ?? '')?.attributes, { extra: 'kept' })
})

void t.test('NDJSON is a batch; blank lines and CRLF endings are ignored', async (t) => {
  const { app } = await buildTestApp(t)
  const key = await issueKey(app, 'acme')
  const ndjson = `\n${JSON.stringify(entry({ message: 'one' }))}\r\n\n   \n${JSON.stringify(entry({ message: 'two' }))}\n\n`
  const res = await postLogs(app, key.apiKey, ndjson, { contentType: 'application/x-ndjson' })
  t.equal(res.statusCode, 201)
  const body = res.json<BatchResultBody>()
  t.same({ accepted: body.accepted, duplicates: body.duplicates }, { accepted: 2, duplicates: 0 })
  const rows = await app.db.selectFrom('logs').select(['id', 'message']).execute()
  const byId = new Map(rows.map((row) => [row.id, row.message]))
  t.same(body.ids.map((id) => byId.get(id ?? '')), ['one', 'two'])

  const single = await postLogs(app, key.apiKey, JSON.stringify(entry({ message: 'alone' })), { contentType: 'application/x-ndjson; charset=utf-8' })
  t.equal(single.statusCode, 201, 'a charset parameter is fine')
  t.equal(single.json<BatchResultBody>().accepted, 1, 'one NDJSON line still answers with a batch summary')
})

void t.test('an NDJSON line that is not JSON is reported by its index among non-blank lines', async (t) => {
  const { app } = await buildTestApp(t)
  const key = await issueKey(app, 'acme')
  const ndjson = `${JSON.stringify(entry())}\n\n{"environment": \n${JSON.stringify(entry())}\n`
  const body = expectError(t, await postLogs(app, key.apiKey, ndjson, { contentType: 'application/x-ndjson' }), 400, 'invalid_entries')
  t.match(issuesOf(body), [{ index: 1, code: 'invalid_json', message: /line 3/ }])
  t.equal(await countLogs(app), 0)

  const proto = await postLogs(app, key.apiKey, `${JSON.stringify(entry())}\n{"__proto__": {"polluted": true}}\n`, { contentType: 'application/x-ndjson' })
  const protoBody = expectError(t, proto, 400, 'invalid_entries')
  t.match(issuesOf(protoBody), [{ index: 1 }])
  t.equal(({} as Record<string, unknown>).polluted, undefined, 'no prototype was polluted')
  t.equal(await countLogs(app), 0)
})

void t.test('gzip and deflate bodies are decompressed, for JSON and NDJSON', async (t) => {
  const { app } = await buildTestApp(t)
  const key = await issueKey(app, 'acme')
  const ndjson = [entry({ message: 'n1' }), entry({ message: 'n2' })].map((item) => JSON.stringify(item)).join('\n')

  const gzSingle = await postLogs(app, key.apiKey, gzipSync(JSON.stringify(entry({ message: 'gzip single' }))), { encoding: 'gzip' })
  t.equal(gzSingle.statusCode, 201)
  t.equal(gzSingle.json<StoredLogBody>().message, 'gzip single')

  const gzArray = await postLogs(app, key.apiKey, gzipSync(JSON.stringify([entry({ message: 'a1' }), entry({ message: 'a2' })])), { encoding: 'gzip' })
  t.equal(gzArray.statusCode, 201)
  t.equal(gzArray.json<BatchResultBody>().accepted, 2)

  const gzNdjson = await postLogs(app, key.apiKey, gzipSync(ndjson), { encoding: 'gzip', contentType: 'application/x-ndjson' })
  t.equal(gzNdjson.statusCode, 201)
  t.equal(gzNdjson.json<BatchResultBody>().accepted, 2)

  const dfSingle = await postLogs(app, key.apiKey, deflateSync(JSON.stringify(entry({ message: 'deflate single' }))), { encoding: 'deflate' })
  t.equal(dfSingle.statusCode, 201)
  t.equal(dfSingle.json<StoredLogBody>().message, 'deflate single')

  const dfNdjson = await postLogs(app, key.apiKey, deflateSync(ndjson), { encoding: 'deflate', contentType: 'application/x-ndjson' })
  t.equal(dfNdjson.statusCode, 201)
  t.equal(dfNdjson.json<BatchResultBody>().accepted, 2)

  const messages = (await app.db.selectFrom('logs').select('message').execute()).map((row) => row.message).sort()
  t.same(messages, ['a1', 'a2', 'deflate single', 'gzip single', 'n1', 'n1', 'n2', 'n2'])
})

void t.test('a corrupt compressed body is a 400 JSON error and stores nothing', async (t) => {
  const { app } = await buildTestApp(t)
  const key = await issueKey(app, 'acme')
  const valid = gzipSync(JSON.stringify(entry()))
  const cases: Array<[string, Buffer, string]> = [
    ['not gzip at all', Buffer.from('this is not gzip'), 'gzip'],
    ['a truncated gzip stream', valid.subarray(0, valid.length - 12), 'gzip'],
    ['not deflate at all', Buffer.from('this is not deflate'), 'deflate']
  ]
  for (const [name, payload, encoding] of cases) {
    // A subtest per case, so that a failure names the body that caused it.
    await t.test(name, async (t) => {
      expectError(t, await postLogs(app, key.apiKey, payload, { encoding }), 400, 'invalid_compressed_body')
    })
  }
  t.equal(await countLogs(app), 0)
})

void t.test('unsupported encodings and media types are 415', async (t) => {
  const { app } = await buildTestApp(t)
  const key = await issueKey(app, 'acme')
  const br = await postLogs(app, key.apiKey, JSON.stringify(entry()), { encoding: 'br' })
  expectError(t, br, 415, 'unsupported_content_encoding')
  // A JSON body sent as text/plain must not be taken for a bare string entry.
  const text = await postLogs(app, key.apiKey, JSON.stringify(entry()), { contentType: 'text/plain' })
  t.equal(text.statusCode, 415, 'text/plain is an unsupported media type')
  t.equal(text.json<ErrorBody>().code, 'unsupported_media_type')
  const xml = await postLogs(app, key.apiKey, '<log/>', { contentType: 'application/xml' })
  expectError(t, xml, 415, 'unsupported_media_type')
  t.equal(await countLogs(app), 0)
})

void t.test('bodies that are not JSON, or not entries, are 400', async (t) => {
  const { app } = await buildTestApp(t)
  const key = await issueKey(app, 'acme')
  expectError(t, await postLogs(app, key.apiKey, '{"environment": "production",'), 400, 'invalid_json')
  expectError(t, await postLogs(app, key.apiKey, `{"__proto__": {"polluted": true}, ${JSON.stringify(entry()).slice(1)}`), 400, 'invalid_json')
  expectError(t, await postLogs(app, key.apiKey, '{"constructor": {"prototype": {"polluted": true}}}'), 400, 'invalid_json')
  t.equal(({} as Record<string, unknown>).polluted, undefined, 'no prototype was polluted')
  expectError(t, await postLogs(app, key.apiKey, []), 400, 'empty_batch')
  expectError(t, await postLogs(app, key.apiKey, '\n \n', { contentType: 'application/x-ndjson' }), 400, 'empty_batch')
  for (const scalar of ['null', '"a string"', '42', 'true']) {
    const body = expectError(t, await postLogs(app, key.apiKey, scalar), 400, 'invalid_entries')
    t.match(issuesOf(body), [{ index: 0, code: 'invalid_type' }], `${scalar} is not an entry`)
  }
  t.equal(await countLogs(app), 0)
})

interface Rule { name: string, entry: Record<string, unknown>, field: string | RegExp, code: string }

const without = (field: string): Record<string, unknown> => {
  const copy = entry()
  delete copy[field]
  return copy
}

const RULES: Rule[] = [
  { name: 'environment missing', entry: without('environment'), field: 'environment', code: 'missing_field' },
  { name: 'executed_at missing', entry: without('executed_at'), field: 'executed_at', code: 'missing_field' },
  { name: 'status missing', entry: without('status'), field: 'status', code: 'missing_field' },
  { name: 'environment empty', entry: entry({ environment: '' }), field: 'environment', code: 'too_short' },
  { name: 'status empty', entry: entry({ status: '' }), field: 'status', code: 'too_short' },
  { name: 'event_id empty', entry: entry({ event_id: '' }), field: 'event_id', code: 'too_short' },
  { name: 'environment over 64', entry: entry({ environment: 'e'.repeat(65) }), field: 'environment', code: 'too_long' },
  { name: 'status over 32', entry: entry({ status: 'S'.repeat(33) }), field: 'status', code: 'too_long' },
  // 32 characters as sent, 96 as stored: each ﬃ upper-cases to FFI.
  { name: 'status over 32 once upper-cased', entry: entry({ status: '\ufb03'.repeat(32) }), field: 'status', code: 'too_long' },
  { name: 'event_id over 128', entry: entry({ event_id: 'e'.repeat(129) }), field: 'event_id', code: 'too_long' },
  { name: 'workflow_id over 256', entry: entry({ workflow_id: 'w'.repeat(257) }), field: 'workflow_id', code: 'too_long' },
  { name: 'workflow_name over 256', entry: entry({ workflow_name: 'w'.repeat(257) }), field: 'workflow_name', code: 'too_long' },
  { name: 'run_id over 256', entry: entry({ run_id: 'r'.repeat(257) }), field: 'run_id', code: 'too_long' },
  { name: 'step over 256', entry: entry({ step: 's'.repeat(257) }), field: 'step', code: 'too_long' },
  { name: 'trace_id over 64', entry: entry({ trace_id: 't'.repeat(65) }), field: 'trace_id', code: 'too_long' },
  { name: 'message over 65536', entry: entry({ message: 'm'.repeat(65537) }), field: 'message', code: 'too_long' },
  // The limit is in bytes: 32,769 two-byte characters are 65,538 bytes.
  { name: 'message over 65536 bytes in fewer characters', entry: entry({ message: 'é'.repeat(32769) }), field: 'message', code: 'too_long' },
  { name: 'executed_at on a leap second', entry: entry({ executed_at: '2026-12-31T23:59:60Z' }), field: 'executed_at', code: 'invalid_format' },
  { name: 'environment not a string', entry: entry({ environment: 7 }), field: 'environment', code: 'invalid_type' },
  { name: 'executed_at without a time zone', entry: entry({ executed_at: '2026-11-20T10:00:00' }), field: 'executed_at', code: 'invalid_format' },
  { name: 'executed_at garbage', entry: entry({ executed_at: 'yesterday at noon' }), field: 'executed_at', code: 'invalid_format' },
  { name: 'executed_at a date only', entry: entry({ executed_at: '2026-11-20' }), field: 'executed_at', code: 'invalid_format' },
  { name: 'executed_at on a day that does not exist', entry: entry({ executed_at: '2026-02-30T10:00:00Z' }), field: 'executed_at', code: 'invalid_format' },
  { name: 'executed_at a number', entry: entry({ executed_at: 1763632800000 }), field: 'executed_at', code: 'invalid_type' },
  { name: 'executed_at in year 0000', entry: entry({ executed_at: '0000-01-01T00:00:00Z' }), field: 'executed_at', code: 'out_of_range' },
  { name: 'level not a level of any logger', entry: entry({ level: 'loud' }), field: 'level', code: 'invalid_value' },
  { name: 'duration_ms negative', entry: entry({ duration_ms: -1 }), field: 'duration_ms', code: 'out_of_range' },
  { name: 'duration_ms a string', entry: entry({ duration_ms: '12' }), field: 'duration_ms', code: 'invalid_type' },
  { name: 'attributes a string', entry: entry({ attributes: 'k=v' }), field: 'attributes', code: 'invalid_type' },
  { name: 'attributes an array', entry: entry({ attributes: [1, 2] }), field: 'attributes', code: 'invalid_type' },
  { name: 'attributes null', entry: entry({ attributes: null }), field: 'attributes', code: 'invalid_type' },
  { name: 'attributes over 64 KiB', entry: entry({ attributes: { blob: 'x'.repeat(65536) } }), field: 'attributes', code: 'too_large' },
  { name: 'unknown fields pushing attributes over 64 KiB', entry: entry({ blob: 'x'.repeat(65536) }), field: 'attributes', code: 'too_large' },
  { name: 'NUL in environment', entry: entry({ environment: 'prod\u0000' }), field: 'environment', code: 'invalid_character' },
  { name: 'NUL in message', entry: entry({ message: 'a\u0000b' }), field: 'message', code: 'invalid_character' },
  { name: 'NUL in an attribute value', entry: entry({ attributes: { k: 'a\u0000b' } }), field: 'attributes.k', code: 'invalid_character' },
  { name: 'NUL in an attribute key', entry: entry({ attributes: { 'a\u0000b': 1 } }), field: 'attributes.a\u0000b', code: 'invalid_character' },
  { name: 'NUL in an unknown field', entry: entry({ note: '\u0000' }), field: 'note', code: 'invalid_character' },
  { name: 'lone surrogate in message', entry: entry({ message: 'x\ud800y' }), field: 'message', code: 'invalid_character' },
  { name: 'lone surrogate inside attributes', entry: entry({ attributes: { deep: { text: '\udc00' } } }), field: 'attributes.deep.text', code: 'invalid_character' },
  { name: 'attributes nested deeper than 32 levels', entry: entry({ attributes: nested(40) }), field: /^attributes(\.a)+$/, code: 'too_deep' },
  { name: 'unknown field conflicting with an attribute', entry: entry({ host: 'a', attributes: { host: 'b' } }), field: 'host', code: 'attribute_conflict' }
]

void t.test('every validation rule answers 400 invalid_entries naming the field', async (t) => {
  const { app } = await buildTestApp(t)
  const key = await issueKey(app, 'acme')
  for (const rule of RULES) {
    const res = await postLogs(app, key.apiKey, rule.entry)
    t.equal(res.statusCode, 400, `${rule.name}: 400`)
    const body = res.json<ErrorBody>()
    t.equal(body.code, 'invalid_entries', `${rule.name}: invalid_entries`)
    const issue = issuesOf(body).find((candidate) => candidate.index === 0)
    if (typeof rule.field === 'string') t.equal(issue?.field, rule.field, `${rule.name}: names ${rule.field}`)
    else t.match(issue?.field, rule.field, `${rule.name}: names the field`)
    t.equal(issue?.code, rule.code, `${rule.name}: ${rule.code}`)
    t.type(issue?.message, 'string')
  }
  t.equal(await countLogs(app), 0, 'no rejected entry was stored')
})

void t.test('in one batch every bad entry is named by its index and field, and nothing is stored', async (t) => {
  const { app } = await buildTestApp(t)
  const key = await issueKey(app, 'acme')
  // A valid entry between each bad one, so each index is checked where it really is.
  const batch = RULES.flatMap((rule) => [entry(), rule.entry])
  const body = expectError(t, await postLogs(app, key.apiKey, batch), 400, 'invalid_entries')
  const issues = issuesOf(body)
  t.notOk(issues.some((issue) => issue.index % 2 === 0), 'no valid entry is reported')
  RULES.forEach((rule, position) => {
    const index = position * 2 + 1
    const issue = issues.find((candidate) => candidate.index === index)
    if (typeof rule.field === 'string') t.equal(issue?.field, rule.field, `${rule.name} at ${index}`)
    else t.match(issue?.field, rule.field, `${rule.name} at ${index}`)
  })
  t.equal(await countLogs(app), 0)
})

void t.test('a bad array element that is not an object is named by its index', async (t) => {
  const { app } = await buildTestApp(t)
  const key = await issueKey(app, 'acme')
  const body = expectError(t, await postLogs(app, key.apiKey, [entry(), 'oops', entry(), [entry()]]), 400, 'invalid_entries')
  t.match(issuesOf(body), [{ index: 1, code: 'invalid_type' }, { index: 3, code: 'invalid_type' }])
  t.equal(issuesOf(body).length, 2)
  t.equal(await countLogs(app), 0)
})

void t.test('an entry missing several fields gets them all reported at once', async (t) => {
  const { app } = await buildTestApp(t)
  const key = await issueKey(app, 'acme')
  const body = expectError(t, await postLogs(app, key.apiKey, { message: 'only this' }), 400, 'invalid_entries')
  const fields = issuesOf(body).map((issue) => issue.field).sort()
  t.same(fields, ['environment', 'executed_at', 'status'])
})

void t.test('a number too large for JSON to hold is refused, not stored', async (t) => {
  const { app } = await buildTestApp(t)
  const key = await issueKey(app, 'acme')
  // 1e400 parses to Infinity: it is no valid duration, and it cannot be answered as JSON.
  const raw = JSON.stringify(entry({ duration_ms: 0 })).replace('"duration_ms":0', '"duration_ms":1e400')
  const res = await postLogs(app, key.apiKey, raw)
  const body = expectError(t, res, 400, 'invalid_entries')
  t.match(issuesOf(body), [{ index: 0, field: 'duration_ms' }])
  // Inside attributes it would be stored as null: refused too, so nothing changes silently.
  const inAttributes = JSON.stringify(entry({ attributes: { rows: 0 } })).replace('"rows":0', '"rows":1e400')
  const attributeBody = expectError(t, await postLogs(app, key.apiKey, inAttributes), 400, 'invalid_entries')
  t.match(issuesOf(attributeBody), [{ index: 0, field: 'attributes.rows', code: 'out_of_range' }])
  t.equal(await countLogs(app), 0)
})

void t.test('values at every limit are accepted', async (t) => {
  const { app } = await buildTestApp(t)
  const key = await issueKey(app, 'acme')
  const atLimits = entry({
    environment: 'e'.repeat(64),
    status: 's'.repeat(32),
    event_id: 'i'.repeat(128),
    workflow_id: 'w'.repeat(256),
    workflow_name: 'n'.repeat(256),
    run_id: 'r'.repeat(256),
    step: 'p'.repeat(256),
    trace_id: 't'.repeat(64),
    message: 'm'.repeat(65536),
    duration_ms: 0,
    level: 'fatal'
  })
  const res = await postLogs(app, key.apiKey, atLimits)
  t.equal(res.statusCode, 201)
  const log = res.json<StoredLogBody>()
  t.equal(log.status, 'S'.repeat(32))
  t.equal(log.message?.length, 65536)
  t.equal(log.duration_ms, 0)

  const fill = 65536 - JSON.stringify({ blob: '' }).length
  const fullAttributes = await postLogs(app, key.apiKey, entry({ attributes: { blob: 'x'.repeat(fill) } }))
  t.equal(fullAttributes.statusCode, 201, 'attributes of exactly 64 KiB serialized')
  const oneByteOver = await postLogs(app, key.apiKey, entry({ attributes: { blob: 'x'.repeat(fill + 1) } }))
  t.equal(oneByteOver.statusCode, 400, 'one byte more is refused')

  const deep = await postLogs(app, key.apiKey, entry({ attributes: nested(32) }))
  t.equal(deep.statusCode, 201, 'attributes nested 32 levels')
  t.same(deep.json<StoredLogBody>().attributes, nested(32), 'stored intact')
  const tooDeep = await postLogs(app, key.apiKey, entry({ attributes: nested(33) }))
  t.equal(tooDeep.statusCode, 400, '33 levels are refused')

  for (const level of ['trace', 'debug', 'info', 'warn', 'error', 'fatal']) {
    const res = await postLogs(app, key.apiKey, entry({ level }))
    t.equal(res.json<StoredLogBody>().level, level, `level ${level}`)
  }
  t.equal(await countLogs(app), 9)
})

void t.test('RFC 3339 variants are accepted and normalised to UTC milliseconds', async (t) => {
  const { app } = await buildTestApp(t)
  const key = await issueKey(app, 'acme')
  const cases: Array<[string, string]> = [
    ['2026-11-20T10:00:00Z', '2026-11-20T10:00:00.000Z'],
    ['2026-11-20T10:00:00.5+00:00', '2026-11-20T10:00:00.500Z'],
    ['2026-11-20T10:00:00.123456789-05:30', '2026-11-20T15:30:00.123Z'],
    ['2026-11-20t10:00:00z', '2026-11-20T10:00:00.000Z'],
    ['0001-01-01T00:00:00Z', '0001-01-01T00:00:00.000Z'],
    ['9999-12-31T23:59:59.999Z', '9999-12-31T23:59:59.999Z']
  ]
  for (const [given, stored] of cases) {
    const res = await postLogs(app, key.apiKey, entry({ executed_at: given }))
    t.equal(res.statusCode, 201, `${given} accepted`)
    t.equal(res.json<StoredLogBody>().executed_at, stored, `${given} stored as ${stored}`)
  }
  // An offset can carry a valid-looking time out of the years PostgreSQL and the API can hold.
  const past = await postLogs(app, key.apiKey, entry({ executed_at: '9999-12-31T23:00:00-02:00' }))
  t.equal(past.statusCode, 400)
  t.match(past.json<ErrorBody>().details, [{ index: 0, field: 'executed_at' }])
})

void t.test('a batch with one bad entry stores nothing and names it', async (t) => {
  const { app } = await buildTestApp(t)
  const key = await issueKey(app, 'acme')
  await postLogs(app, key.apiKey, entry({ message: 'already there' }))
  const before = await countLogs(app)
  t.equal(before, 1)
  const res = await postLogs(app, key.apiKey, [entry(), entry(), entry({ level: 'loud' }), entry()])
  const body = expectError(t, res, 400, 'invalid_entries')
  t.match(issuesOf(body), [{ index: 2, field: 'level', code: 'invalid_value' }])
  t.equal(issuesOf(body).length, 1)
  t.equal(await countLogs(app), before, 'the valid entries were not stored either')

  const explicit = await postLogs(app, key.apiKey, [entry(), entry({ status: '' })], { query: '?partial=false' })
  expectError(t, explicit, 400, 'invalid_entries')
  t.equal(await countLogs(app), before)
})

void t.test('?partial=true stores the valid entries and reports the rejected ones', async (t) => {
  const { app } = await buildTestApp(t)
  const key = await issueKey(app, 'acme')
  const batch = [
    entry({ message: 'kept 0' }),
    entry({ level: 'loud', status: '' }),
    entry({ message: 'kept 2' }),
    'not an object',
    entry({ message: 'kept 4' })
  ]
  const res = await postLogs(app, key.apiKey, batch, { query: '?partial=true' })
  t.equal(res.statusCode, 201)
  const body = res.json<BatchResultBody>()
  t.equal(body.accepted, 3)
  t.equal(body.duplicates, 0)
  t.equal(body.ids.length, 5)
  t.equal(body.ids[1], null)
  t.equal(body.ids[3], null)
  t.ok([0, 2, 4].every((index) => UUID.test(body.ids[index] ?? '')), 'stored entries have ids')
  t.same(body.rejected?.map((rejection) => rejection.index), [1, 3], 'one rejection per bad entry, in order')
  for (const rejection of body.rejected ?? []) {
    t.type(rejection.code, 'string')
    t.ok(rejection.message.length > 0)
  }
  t.equal(body.rejected?.[1]?.code, 'invalid_type')

  const rows = await app.db.selectFrom('logs').select(['id', 'message']).execute()
  const byId = new Map(rows.map((row) => [row.id, row.message]))
  t.equal(rows.length, 3)
  t.same([0, 2, 4].map((index) => byId.get(body.ids[index] ?? '')), ['kept 0', 'kept 2', 'kept 4'])
})

void t.test('?partial=true with no valid entry stores nothing', async (t) => {
  const { app } = await buildTestApp(t)
  const key = await issueKey(app, 'acme')
  const res = await postLogs(app, key.apiKey, [entry({ level: 'loud' }), 3], { query: '?partial=true' })
  // Partial mode answers what it did: nothing accepted, every entry listed as rejected.
  t.equal(res.statusCode, 201)
  const body = res.json<BatchResultBody>()
  t.same(body.ids, [null, null])
  t.equal(body.accepted, 0)
  t.same(body.rejected?.map((rejection) => rejection.index), [0, 1])
  t.equal(await countLogs(app), 0)
})

void t.test('?partial=true does not soften a single invalid object, and the query is checked', async (t) => {
  const { app } = await buildTestApp(t)
  const key = await issueKey(app, 'acme')
  const single = await postLogs(app, key.apiKey, entry({ status: '' }), { query: '?partial=true' })
  const body = expectError(t, single, 400, 'invalid_entries')
  t.match(issuesOf(body), [{ index: 0, field: 'status' }])

  const valid = await postLogs(app, key.apiKey, entry(), { query: '?partial=true' })
  t.equal(valid.statusCode, 201)
  t.match(valid.json<StoredLogBody>().id, UUID, 'a valid single object still gets the stored log')

  expectError(t, await postLogs(app, key.apiKey, entry(), { query: '?partal=true' }), 400, 'invalid_request')
  expectError(t, await postLogs(app, key.apiKey, entry(), { query: '?partial=maybe' }), 400, 'invalid_request')
  t.equal(await countLogs(app), 1)
})

void t.test('the same event_id sent twice is stored once; the replay answers with the first log', async (t) => {
  const { app } = await buildTestApp(t)
  const key = await issueKey(app, 'acme')
  const first = await postLogs(app, key.apiKey, entry({ event_id: 'evt-1', message: 'original' }))
  t.equal(first.statusCode, 201)
  t.notOk(first.headers['idempotent-replayed'])
  const retry = await postLogs(app, key.apiKey, entry({ event_id: 'evt-1', message: 'retried' }))
  t.equal(retry.statusCode, 201)
  t.equal(retry.headers['idempotent-replayed'], 'true')
  const original = first.json<StoredLogBody>()
  const replayed = retry.json<StoredLogBody>()
  t.equal(replayed.id, original.id)
  t.equal(replayed.message, 'original', 'the stored log, not the retried body')
  t.equal(replayed.received_at, original.received_at)
  const rows = await app.db.selectFrom('logs').select('id').where('event_id', '=', 'evt-1').execute()
  t.equal(rows.length, 1)
})

void t.test('a batch counts earlier event_ids as duplicates and answers their stored ids', async (t) => {
  const { app } = await buildTestApp(t)
  const key = await issueKey(app, 'acme')
  const first = await postLogs(app, key.apiKey, entry({ event_id: 'evt-a' }))
  const firstId = first.json<StoredLogBody>().id
  const res = await postLogs(app, key.apiKey, [entry({ event_id: 'evt-b' }), entry({ event_id: 'evt-a' }), entry()])
  t.equal(res.statusCode, 201)
  const body = res.json<BatchResultBody>()
  t.equal(body.accepted, 2)
  t.equal(body.duplicates, 1)
  t.equal(body.ids[1], firstId)
  t.not(body.ids[0], firstId)
  t.equal(await countLogs(app), 3)

  const again = await postLogs(app, key.apiKey, [entry({ event_id: 'evt-a' }), entry({ event_id: 'evt-b' })])
  t.equal(again.statusCode, 201)
  const replay = again.json<BatchResultBody>()
  t.same(replay, { accepted: 0, duplicates: 2, ids: [firstId, body.ids[0]] }, 'a whole retried batch is all duplicates')
  t.equal(await countLogs(app), 3)
})

void t.test('an event_id repeated within one batch is stored once', async (t) => {
  const { app } = await buildTestApp(t)
  const key = await issueKey(app, 'acme')
  const res = await postLogs(app, key.apiKey, [
    entry({ event_id: 'evt-x', message: 'first' }),
    entry({ event_id: 'evt-y' }),
    entry({ event_id: 'evt-x', message: 'second' })
  ])
  t.equal(res.statusCode, 201)
  const body = res.json<BatchResultBody>()
  t.equal(body.accepted, 2)
  t.equal(body.duplicates, 1)
  t.equal(body.ids[0], body.ids[2], 'both occurrences get the one stored id')
  const rows = await app.db.selectFrom('logs').select(['id', 'message']).where('event_id', '=', 'evt-x').execute()
  t.equal(rows.length, 1)
  t.equal(rows[0]?.message, 'first', 'the first occurrence is the one stored')
  t.equal(rows[0]?.id, body.ids[0])
})

void t.test('the same event_id from two clients is two logs', async (t) => {
  const { app } = await buildTestApp(t)
  const acme = await issueKey(app, 'acme')
  const globex = await issueKey(app, 'globex')
  const a = await postLogs(app, acme.apiKey, entry({ event_id: 'shared-evt' }))
  const g = await postLogs(app, globex.apiKey, entry({ event_id: 'shared-evt' }))
  t.equal(a.statusCode, 201)
  t.equal(g.statusCode, 201)
  t.notOk(g.headers['idempotent-replayed'], 'another client\'s event_id is no replay')
  t.not(a.json<StoredLogBody>().id, g.json<StoredLogBody>().id)
  const rows = await app.db.selectFrom('logs').select(['client_id']).where('event_id', '=', 'shared-evt').execute()
  t.same(rows.map((row) => row.client_id).sort(), [acme.clientId, globex.clientId].sort())
})

void t.test('concurrent requests with the same event_id store one log and agree on its id', async (t) => {
  const { app } = await buildTestApp(t)
  const key = await issueKey(app, 'acme')
  const responses = await Promise.all(Array.from({ length: 8 }, () => postLogs(app, key.apiKey, entry({ event_id: 'evt-race' }))))
  t.ok(responses.every((res) => res.statusCode === 201), 'every attempt is answered 201')
  const ids = new Set(responses.map((res) => res.json<StoredLogBody>().id))
  t.equal(ids.size, 1)
  t.equal(responses.filter((res) => res.headers['idempotent-replayed'] === undefined).length, 1, 'exactly one attempt stored it')
  t.equal(await countLogs(app), 1)
})
