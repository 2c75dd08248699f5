// POST /v1/logs driven with hand-made OTLP requests through app.inject: the
// mapping to log entries, both encodings and their answers, partial success,
// and every way a request is refused with nothing stored.
import { gzipSync } from 'node:zlib'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import t from 'tap'
import type { StoredLogBody } from '../../src/logs/schemas.ts'
import { decodeResponse, decodeStatus, encodeRequest } from '../../src/otlp/proto.ts'
import { buildTestApp, countLogs, expectError, issueKey } from '../helper.ts'
import { keys, parsed, type Created } from '../cli/run.ts'

const TIME_NS = '1795000000123456789' // 2026-11-17T08:26:40.123Z
const TIME_ISO = new Date(1795000000123).toISOString()

function str (value: string): Record<string, unknown> {
  return { stringValue: value }
}

function request (records: Array<Record<string, unknown>>, resource: Array<Record<string, unknown>> = []): Record<string, unknown> {
  return {
    resourceLogs: [{
      resource: { attributes: resource },
      scopeLogs: [{ scope: { name: 'nightly', version: '1.2.0' }, logRecords: records }]
    }]
  }
}

async function postJson (app: FastifyInstance, apiKey: string, body: unknown, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
  return await app.inject({
    method: 'POST',
    url: '/v1/logs',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}`, ...headers },
    payload: typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body)
  })
}

async function postProto (app: FastifyInstance, apiKey: string, body: Buffer, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
  return await app.inject({
    method: 'POST',
    url: '/v1/logs',
    headers: { 'content-type': 'application/x-protobuf', authorization: `Bearer ${apiKey}`, ...headers },
    payload: body
  })
}

async function listLogs (app: FastifyInstance, apiKey: string, query = ''): Promise<StoredLogBody[]> {
  const res = await app.inject({ method: 'GET', url: `/api/v1/logs?order=asc${query}`, headers: { 'x-api-key': apiKey } })
  t.equal(res.statusCode, 200)
  return res.json<{ data: StoredLogBody[] }>().data
}

void t.test('a JSON request: each field mapped, 200 {}', async (t) => {
  const { app } = await buildTestApp(t)
  const { apiKey } = await issueKey(app, 'acme')
  const res = await postJson(app, apiKey, request([{
    timeUnixNano: TIME_NS,
    observedTimeUnixNano: '1795000001000000000',
    severityNumber: 17,
    severityText: 'ERROR',
    body: str('load failed'),
    traceId: '5B8EFFF798038103D269B633813FC60C',
    spanId: 'EEE19B7EC3C1B174',
    attributes: [
      { key: 'workflow_id', value: str('nightly-etl') },
      { key: 'run_id', value: str('run-7') },
      { key: 'step', value: str('load') },
      { key: 'status', value: str('failure') },
      { key: 'duration_ms', value: { intValue: '1500' } },
      { key: 'log.record.uid', value: str('01JB-abc') },
      { key: 'rows', value: { intValue: 1200 } },
      { key: 'tags', value: { arrayValue: { values: [str('a'), { boolValue: true }] } } },
      { key: 'db', value: { kvlistValue: { values: [{ key: 'host', value: str('db-1') }] } } }
    ]
  }], [
    { key: 'service.name', value: str('etl-runner') },
    { key: 'deployment.environment.name', value: str('production') },
    { key: 'host.name', value: str('worker-3') }
  ]))
  t.equal(res.statusCode, 200)
  t.same(res.json(), {}, 'an empty ExportLogsServiceResponse')
  t.match(res.headers['content-type'], /application\/json/)
  const [log, ...rest] = await listLogs(app, apiKey)
  t.equal(rest.length, 0)
  t.match(log, {
    environment: 'production',
    executed_at: TIME_ISO,
    status: 'FAILURE',
    level: 'error',
    message: 'load failed',
    workflow_id: 'nightly-etl',
    workflow_name: 'etl-runner',
    run_id: 'run-7',
    step: 'load',
    duration_ms: 1500,
    event_id: '01JB-abc',
    trace_id: '5b8efff798038103d269b633813fc60c'
  })
  t.same(log?.attributes, {
    'host.name': 'worker-3',
    'otel.scope.name': 'nightly',
    'otel.scope.version': '1.2.0',
    rows: 1200,
    tags: ['a', true],
    db: { host: 'db-1' },
    span_id: 'eee19b7ec3c1b174',
    severity_text: 'ERROR'
  })
})

void t.test('fallbacks: observed time, time of receipt, environment, status, levels from numbers and texts', async (t) => {
  const { app } = await buildTestApp(t)
  const { apiKey } = await issueKey(app, 'acme')
  const before = Date.now()
  const records = [
    { observedTimeUnixNano: TIME_NS, severityNumber: 1, body: str('trace') },
    { severityNumber: 8, body: { kvlistValue: { values: [{ key: 'a', value: { intValue: 1 } }] } } },
    { timeUnixNano: '0', severityNumber: 9, body: { intValue: '42' } },
    { timeUnixNano: TIME_NS, severityNumber: 16 },
    { timeUnixNano: TIME_NS, severityNumber: 20 },
    { timeUnixNano: TIME_NS, severityNumber: 24 },
    { timeUnixNano: TIME_NS, severityText: 'Warning' },
    { timeUnixNano: TIME_NS, severityText: 'nonsense' },
    { timeUnixNano: TIME_NS, severityNumber: 0, severityText: 'fatal' },
    { timeUnixNano: TIME_NS }
  ]
  const res = await postJson(app, apiKey, request(records, [{ key: 'deployment.environment', value: str('staging') }]))
  t.equal(res.statusCode, 200)
  const logs = await listLogs(app, apiKey, '&limit=100')
  t.equal(logs.length, records.length)
  const byMessage = (message: string | null): StoredLogBody | undefined => logs.find((log) => log.message === message)
  t.equal(byMessage('trace')?.executed_at, TIME_ISO, 'observedTimeUnixNano when timeUnixNano is absent')
  t.equal(byMessage('trace')?.level, 'trace')
  t.equal(byMessage('{"a":1}')?.level, 'debug', 'a non-string body as JSON')
  const received = byMessage('42')
  t.ok(received !== undefined && Date.parse(received.executed_at) >= before - 1000 && Date.parse(received.executed_at) <= Date.now(),
    'no time: the time of receipt')
  t.equal(received?.level, 'info')
  t.same(logs.filter((log) => log.message === null).map((log) => log.level).sort(), ['error', 'fatal', 'fatal', 'info', 'info', 'warn', 'warn'].sort())
  t.ok(logs.every((log) => log.environment === 'staging'), 'deployment.environment')
  t.ok(logs.every((log) => log.status === 'UNKNOWN'), 'no status attribute: UNKNOWN')
  const bare = await postJson(app, apiKey, request([{ timeUnixNano: TIME_NS, body: str('bare') }]))
  t.equal(bare.statusCode, 200)
  t.match(await listLogs(app, apiKey, '&q=bare'), [{ environment: 'default', status: 'UNKNOWN', workflow_name: null, attributes: { 'otel.scope.name': 'nightly' } }])
})

void t.test('protobuf: the same mapping, answered in protobuf; gzip accepted', async (t) => {
  const { app } = await buildTestApp(t)
  const { apiKey } = await issueKey(app, 'acme')
  const body = encodeRequest(request([{
    timeUnixNano: TIME_NS,
    severityNumber: 13,
    body: str('disk almost full'),
    traceId: Buffer.from('5b8efff798038103d269b633813fc60c', 'hex'),
    attributes: [{ key: 'workflow_id', value: str('backup') }, { key: 'status', value: str('running') }, { key: 'free', value: { doubleValue: 0.5 } }]
  }], [{ key: 'service.name', value: str('backup-agent') }]))
  const res = await postProto(app, apiKey, body)
  t.equal(res.statusCode, 200)
  t.equal(res.headers['content-type'], 'application/x-protobuf')
  t.same(decodeResponse(res.rawPayload), {}, 'an empty ExportLogsServiceResponse')
  const gzipped = await postProto(app, apiKey, gzipSync(encodeRequest(request([{ timeUnixNano: TIME_NS, body: str('gzipped') }]))),
    { 'content-encoding': 'gzip' })
  t.equal(gzipped.statusCode, 200)
  const logs = await listLogs(app, apiKey)
  t.match(logs, [
    { message: 'disk almost full', level: 'warn', status: 'RUNNING', workflow_id: 'backup', workflow_name: 'backup-agent', trace_id: '5b8efff798038103d269b633813fc60c', executed_at: TIME_ISO, attributes: { free: 0.5 } },
    { message: 'gzipped' }
  ])
})

void t.test('the same records in JSON and in protobuf are stored as the same logs', async (t) => {
  const { app } = await buildTestApp(t)
  const json = await issueKey(app, 'from-json')
  const proto = await issueKey(app, 'from-protobuf')
  const ids = { traceId: '5b8efff798038103d269b633813fc60c', spanId: 'eee19b7ec3c1b174' }
  // Each record twice over: JSON's form, and protobuf's (ids as bytes, 64-bit integers as decimal text).
  const records = (encoding: 'json' | 'protobuf'): Array<Record<string, unknown>> => {
    const id = (hex: string): unknown => encoding === 'json' ? hex.toUpperCase() : Buffer.from(hex, 'hex')
    return [
      {
        timeUnixNano: TIME_NS,
        observedTimeUnixNano: '1795000001000000000',
        severityNumber: 17,
        severityText: 'ERROR',
        body: str('every field'),
        traceId: id(ids.traceId),
        spanId: id(ids.spanId),
        eventName: 'etl.failed',
        flags: 1,
        attributes: [
          { key: 'workflow_id', value: str('nightly-etl') },
          { key: 'run_id', value: str('run-7') },
          { key: 'step', value: str('load') },
          { key: 'status', value: str('failure') },
          { key: 'duration_ms', value: { intValue: '1500' } },
          { key: 'log.record.uid', value: str('uid-1') },
          { key: 'event_id', value: str('kept as an attribute') },
          { key: 'safe', value: { intValue: '-9007199254740991' } },
          { key: 'unsafe', value: { intValue: '-9223372036854775808' } },
          { key: 'ratio', value: { doubleValue: 0.25 } },
          // Not numbers JSON can hold: OTLP/JSON spells them as text, and protobuf's are stored so too.
          { key: 'nan', value: { doubleValue: encoding === 'json' ? 'NaN' : Number.NaN } },
          { key: 'inf', value: { doubleValue: encoding === 'json' ? '-Infinity' : Number.NEGATIVE_INFINITY } },
          { key: 'ok', value: { boolValue: false } },
          { key: 'raw', value: { bytesValue: Buffer.from([0, 1, 254, 255]).toString('base64') } },
          { key: 'empty', value: {} },
          { key: 'nothing' },
          { key: 'tags', value: { arrayValue: { values: [str('a'), { intValue: '7' }, { arrayValue: {} }] } } },
          { key: 'db', value: { kvlistValue: { values: [{ key: 'host', value: str('db-1') }, { key: 'host', value: str('db-2') }, { key: 'deep', value: { kvlistValue: { values: [{ key: 'x', value: { boolValue: true } }] } } }] } } },
          { key: 'host.name', value: str('record wins') },
          // The resource's service.name is lifted into workflow_name; a record's own stays an attribute.
          { key: 'service.name', value: str('the record\'s') },
          { key: '__proto__', value: { kvlistValue: { values: [{ key: 'polluted', value: str('no: an attribute like any other') }] } } }
        ]
      },
      { observedTimeUnixNano: TIME_NS, severityNumber: 5, body: { kvlistValue: { values: [{ key: 'a', value: { intValue: '1' } }] } } },
      { timeUnixNano: '1', body: { intValue: '18446744073709551' } },
      { timeUnixNano: '18446744073709551615', body: str('the largest fixed64') },
      { timeUnixNano: TIME_NS, severityText: 'Warning', body: { arrayValue: { values: [{ doubleValue: 1.5 }, { boolValue: true }] } } },
      { timeUnixNano: TIME_NS, body: {} },
      { timeUnixNano: TIME_NS, body: { doubleValue: encoding === 'json' ? 'Infinity' : Number.POSITIVE_INFINITY } },
      { timeUnixNano: TIME_NS, attributes: [{ key: 'event_id', value: str('lifted') }], traceId: encoding === 'json' ? '' : Buffer.alloc(0) }
    ]
  }
  const request2 = (encoding: 'json' | 'protobuf'): Record<string, unknown> => ({
    resourceLogs: [{
      resource: { attributes: [{ key: 'service.name', value: str('etl-runner') }, { key: 'deployment.environment.name', value: str('production') }, { key: 'host.name', value: str('worker-3') }] },
      scopeLogs: [
        { scope: { name: 'nightly', version: '1.2.0', attributes: [{ key: 'scope.attr', value: str('s') }] }, logRecords: records(encoding).slice(0, 4) },
        { logRecords: [] },
        { scope: { name: '' }, logRecords: records(encoding).slice(4) }
      ]
    }, {
      resource: { attributes: [{ key: 'deployment.environment', value: str('staging') }] },
      scopeLogs: [{ logRecords: [{ timeUnixNano: TIME_NS, body: str('second resource') }] }]
    }]
  })
  const fromJson = await postJson(app, json.apiKey, request2('json'))
  const fromProto = await postProto(app, proto.apiKey, encodeRequest(request2('protobuf')))
  t.equal(fromJson.statusCode, 200)
  t.equal(fromProto.statusCode, 200)
  t.same(fromJson.json(), {})
  t.same(decodeResponse(fromProto.rawPayload), {})
  // Stored apart from their ids, keys and times of receipt, the two tenants' logs are the same.
  const comparable = (logs: StoredLogBody[]): Array<Partial<StoredLogBody>> => logs.map(({ id, received_at: receivedAt, ...log }) => log)
    .sort((a, b) => JSON.stringify(a) < JSON.stringify(b) ? -1 : 1)
  const jsonLogs = comparable(await listLogs(app, json.apiKey, '&limit=100'))
  const protoLogs = comparable(await listLogs(app, proto.apiKey, '&limit=100'))
  t.equal(jsonLogs.length, 9)
  t.same(protoLogs, jsonLogs)
  const byMessage = (message: string | null): Partial<StoredLogBody> | undefined => jsonLogs.find((log) => log.message === message)
  t.match(byMessage('18446744073709551'), { executed_at: '1970-01-01T00:00:00.000Z' }, 'one nanosecond after the epoch; an integer past 2^53 as text')
  t.match(byMessage('the largest fixed64'), { executed_at: '2554-07-21T23:34:33.709Z' })
  t.ok(byMessage('Infinity'), 'a non-finite body as OTLP/JSON spells it')
  t.match(byMessage('[1.5,true]'), { level: 'warn', environment: 'production' })
  t.match(byMessage('every field'), { event_id: 'uid-1', duration_ms: 1500, trace_id: ids.traceId, workflow_name: 'etl-runner', level: 'error', executed_at: TIME_ISO })
  t.ok(byMessage('null'), 'an empty body')
  t.match(byMessage('second resource'), { environment: 'staging', workflow_name: null })
  t.match(byMessage('{"a":1}'), { level: 'debug', executed_at: TIME_ISO })
  t.match(byMessage(null), { event_id: 'lifted', trace_id: null })
  t.match(byMessage('second resource'), { attributes: null }, 'deployment.environment, lifted into environment, leaves the attributes')
  t.same(byMessage('every field')?.attributes, {
    'host.name': 'record wins',
    'service.name': 'the record\'s',
    'otel.scope.name': 'nightly',
    'otel.scope.version': '1.2.0',
    'scope.attr': 's',
    event_id: 'kept as an attribute',
    safe: -9007199254740991,
    unsafe: '-9223372036854775808',
    ratio: 0.25,
    nan: 'NaN',
    inf: '-Infinity',
    ok: false,
    raw: 'AAH+/w==',
    empty: null,
    nothing: null,
    tags: ['a', 7, []],
    db: { host: 'db-2', deep: { x: true } },
    span_id: ids.spanId,
    severity_text: 'ERROR',
    'event.name': 'etl.failed',
    ['__proto__']: { polluted: 'no: an attribute like any other' }
  })
})

void t.test('protobuf: a severity number out of range refuses the request, as in JSON', async (t) => {
  const { app } = await buildTestApp(t)
  const { apiKey } = await issueKey(app, 'acme')
  for (const severityNumber of [25, -1]) {
    const res = await postProto(app, apiKey, encodeRequest(request([{ timeUnixNano: TIME_NS, body: str('ok') }, { timeUnixNano: TIME_NS, severityNumber }])))
    t.equal(res.statusCode, 400)
    t.match(decodeStatus(res.rawPayload), { code: 3, message: /^invalid_request: .*body\.resourceLogs\.0\.scopeLogs\.0\.logRecords\.1\.severityNumber must be [<>]= / })
  }
  t.equal(await countLogs(app), 0)
})

void t.test('log.record.uid makes a retry idempotent', async (t) => {
  const { app } = await buildTestApp(t)
  const { apiKey } = await issueKey(app, 'acme')
  const body = request([{ timeUnixNano: TIME_NS, body: str('once'), attributes: [{ key: 'log.record.uid', value: str('uid-1') }] }])
  for (let i = 0; i < 3; i++) t.equal((await postJson(app, apiKey, body)).statusCode, 200)
  t.equal((await postProto(app, apiKey, encodeRequest(body))).statusCode, 200)
  t.equal(await countLogs(app), 1, 'stored once')
})

void t.test('bad records are refused one by one in partialSuccess, the good ones stored', async (t) => {
  const { app } = await buildTestApp(t)
  const { apiKey } = await issueKey(app, 'acme')
  const records = [
    { timeUnixNano: TIME_NS, body: str('good 1') },
    { timeUnixNano: TIME_NS, body: str('x'.repeat(70_000)) },
    { timeUnixNano: TIME_NS, body: str('bad duration'), attributes: [{ key: 'duration_ms', value: str('fast') }] },
    { timeUnixNano: TIME_NS, body: str('good 2') }
  ]
  const res = await postJson(app, apiKey, request(records))
  t.equal(res.statusCode, 200)
  const { partialSuccess } = res.json<{ partialSuccess: { rejectedLogRecords: string, errorMessage: string } }>()
  t.equal(partialSuccess.rejectedLogRecords, '2')
  t.match(partialSuccess.errorMessage, /resourceLogs\[0\]\.scopeLogs\[0\]\.logRecords\[1\]: message/)
  t.match(partialSuccess.errorMessage, /logRecords\[2\]: duration_ms/)
  t.same((await listLogs(app, apiKey)).map((log) => log.message), ['good 1', 'good 2'])

  const proto = await postProto(app, apiKey, encodeRequest(request([records[1]!])))
  t.equal(proto.statusCode, 200)
  t.match(decodeResponse(proto.rawPayload), { partialSuccess: { rejectedLogRecords: '1', errorMessage: /message/ } })
  t.equal(await countLogs(app), 2)
  const usage = await app.inject({ method: 'GET', url: '/api/v1/usage', headers: { 'x-api-key': (await issueKey(app, 'acme', { scopes: ['keys:manage'] })).apiKey } })
  t.match(usage.json(), { total: { logs_accepted: 2, logs_rejected: 3 } }, 'usage counts the accepted and the rejected')
})

void t.test('an empty request stores nothing and succeeds', async (t) => {
  const { app } = await buildTestApp(t)
  const { apiKey } = await issueKey(app, 'acme')
  t.same((await postJson(app, apiKey, {})).json(), {})
  t.equal((await postProto(app, apiKey, Buffer.alloc(0))).statusCode, 200)
  t.equal(await countLogs(app), 0)
})

void t.test('undecodable, mistyped, too deep, too many or too large: a 4xx naming it, nothing stored', async (t) => {
  const { app } = await buildTestApp(t, { MAX_BATCH_ENTRIES: '10', MAX_BODY_BYTES: String(64 * 1024), INGEST_BYTES_LIMIT: String(64 * 1024) })
  const { apiKey } = await issueKey(app, 'acme')
  const json = (body: unknown) => postJson(app, apiKey, body)

  expectError(t, await json('{"resourceLogs": ['), 400, 'invalid_json')
  const mistyped = expectError(t, await json(request([{ severityNumber: 'high' }])), 400, 'invalid_request')
  t.match(mistyped.message, /logRecords\.0\.severityNumber/)
  expectError(t, await json({ resourceLogs: 'all of them' }), 400, 'invalid_request')
  expectError(t, await json(request([{ body: { stringValue: 5 } }])), 400, 'invalid_request')
  expectError(t, await json(request([{ timeUnixNano: 'yesterday' }])), 400, 'invalid_request')
  expectError(t, await json(request([{ severityNumber: 99 }])), 400, 'invalid_request')
  let deep: Record<string, unknown> = str('bottom')
  for (let i = 0; i < 60; i++) deep = { kvlistValue: { values: [{ key: 'k', value: deep }] } }
  t.match(expectError(t, await json(request([{ body: deep }])), 400, 'invalid_request').message, /deeper/)
  expectError(t, await json(request(Array.from({ length: 11 }, () => ({ body: str('x') })))), 413, 'too_many_entries')
  expectError(t, await json(request([{ body: str('x'.repeat(70 * 1024)) }])), 413, 'payload_too_large')

  const bomb = gzipSync(Buffer.alloc(50 * 1024 * 1024, ' '))
  t.ok(bomb.length < 64 * 1024, 'the bomb itself is small')
  expectError(t, await postJson(app, apiKey, bomb, { 'content-encoding': 'gzip' }), 413, 'payload_too_large')

  const garbage = await postProto(app, apiKey, Buffer.from('this is not protobuf at all, just text'))
  t.equal(garbage.statusCode, 400)
  t.equal(garbage.headers['content-type'], 'application/x-protobuf', 'a protobuf request gets its error in protobuf')
  const status = decodeStatus(garbage.rawPayload)
  t.equal(status.code, 3, 'INVALID_ARGUMENT')
  t.match(status.message, /^invalid_protobuf: /)
  const truncated = encodeRequest(request([{ timeUnixNano: TIME_NS, body: str('cut short') }]))
  t.equal((await postProto(app, apiKey, truncated.subarray(0, truncated.length - 3))).statusCode, 400)
  t.equal((await postProto(app, apiKey, gzipSync(Buffer.alloc(50 * 1024 * 1024)), { 'content-encoding': 'gzip' })).statusCode, 413)
  // A protobuf body nesting far deeper than the stack.
  const levels = 200_000
  const nested = Buffer.concat([...Array.from({ length: levels }, () => Buffer.from([0x0a, 0x00])), Buffer.alloc(0)])
  t.ok(nested.length > 0)
  const bodyOf = (inner: Buffer) => Buffer.concat([Buffer.from([0x0a]), varint(inner.length), inner])
  let anyValue = Buffer.from([0x0a, 0x01, 0x78]) // AnyValue { string_value: "x" }
  for (let i = 0; i < 5000; i++) {
    // AnyValue { array_value (5): ArrayValue { values (1): anyValue } }
    const array = Buffer.concat([Buffer.from([0x0a]), varint(anyValue.length), anyValue])
    anyValue = Buffer.concat([Buffer.from([0x2a]), varint(array.length), array])
  }
  const record = Buffer.concat([Buffer.from([0x2a]), varint(anyValue.length), anyValue]) // LogRecord { body (5) }
  const scopeLogs = Buffer.concat([Buffer.from([0x12]), varint(record.length), record]) // ScopeLogs { log_records (2) }
  const resourceLogs = Buffer.concat([Buffer.from([0x12]), varint(scopeLogs.length), scopeLogs]) // ResourceLogs { scope_logs (2) }
  const deepProto = await postProto(app, apiKey, bodyOf(resourceLogs))
  t.equal(deepProto.statusCode, 400, 'deep protobuf nesting: 400')
  t.equal(decodeStatus(deepProto.rawPayload).code, 3)

  const wrongType = expectError(t, await app.inject({ method: 'POST', url: '/v1/logs', headers: { 'content-type': 'text/plain', 'x-api-key': apiKey }, payload: 'hello' }), 415)
  t.match(wrongType.message, /application\/x-protobuf/, 'the 415 names what the route takes')
  t.equal(await countLogs(app), 0, 'nothing stored')
})

function varint (value: number): Buffer {
  const bytes: number[] = []
  let rest = value
  while (rest >= 0x80) {
    bytes.push((rest & 0x7f) | 0x80)
    rest = Math.floor(rest / 128)
  }
  bytes.push(rest)
  return Buffer.from(bytes)
}

void t.test('protobuf bodies are refused 415 on the native route', async (t) => {
  const { app } = await buildTestApp(t)
  const { apiKey } = await issueKey(app, 'acme')
  const res = await app.inject({ method: 'POST', url: '/api/v1/logs', headers: { 'content-type': 'application/x-protobuf', 'x-api-key': apiKey }, payload: Buffer.from([1, 2]) })
  expectError(t, res, 415, 'unsupported_media_type')
})

void t.test('keys: tenants apart, a revoked or read-only key refused, in the encoding of the request', async (t) => {
  const { app } = await buildTestApp(t)
  const a = await issueKey(app, 'acme')
  const b = await issueKey(app, 'globex')
  const readOnly = await issueKey(app, 'acme', { scopes: ['logs:read'] })
  t.equal((await postJson(app, a.apiKey, request([{ timeUnixNano: TIME_NS, body: str('secret of acme') }]))).statusCode, 200)
  t.equal((await listLogs(app, a.apiKey)).length, 1)
  t.equal((await listLogs(app, b.apiKey)).length, 0, 'tenant B sees none of it')

  const body = request([{ timeUnixNano: TIME_NS, body: str('refused') }])
  expectError(t, await postJson(app, readOnly.apiKey, body), 403, 'insufficient_scope')
  const proto = await postProto(app, readOnly.apiKey, encodeRequest(body))
  t.equal(proto.statusCode, 403)
  t.match(decodeStatus(proto.rawPayload), { code: 7, message: /insufficient_scope/ })
  const noKey = await postProto(app, 'clk_nonsense', encodeRequest(body))
  t.equal(noKey.statusCode, 401)
  t.match(noKey.headers['www-authenticate'], /ApiKey/)
  t.equal(decodeStatus(noKey.rawPayload).code, 16, 'UNAUTHENTICATED')
  t.equal(await countLogs(app), 1)
})

void t.test('over the ingest limit: 429 with Retry-After, nothing stored', async (t) => {
  const { app } = await buildTestApp(t, { INGEST_RATE_LIMIT: '3' })
  const { apiKey } = await issueKey(app, 'acme')
  const records = (n: number) => request(Array.from({ length: n }, (_, i) => ({ timeUnixNano: TIME_NS, body: str(`record ${i}`) })))
  t.equal((await postJson(app, apiKey, records(2))).statusCode, 200)
  const over = await postProto(app, apiKey, encodeRequest(records(2)))
  t.equal(over.statusCode, 429)
  t.match(over.headers['retry-after'], /^\d+$/)
  t.match(decodeStatus(over.rawPayload), { code: 8, message: /ingest_rate_limited/ })
  const json = expectError(t, await postJson(app, apiKey, records(2)), 429, 'ingest_rate_limited')
  t.ok(json)
  expectError(t, await postJson(app, apiKey, records(4)), 413, 'batch_over_ingest_limit')
  t.equal(await countLogs(app), 2)
})

void t.test('a client\'s defaults from the key CLI fill what records leave out', async (t) => {
  const { app, databaseUrl } = await buildTestApp(t)
  const created = parsed<Created>(await keys(databaseUrl, ['create', 'acme', '--environment', 'production', '--status', 'success', '--json']))
  t.match(created, { default_environment: 'production', default_status: 'SUCCESS' }, 'the status kept upper-cased')
  const listed = parsed<{ clients: Array<{ client_name: string, default_environment: string | null, default_status: string | null }> }>(
    await keys(databaseUrl, ['list', '--client', 'acme', '--json']))
  t.match(listed.clients, [{ client_name: 'acme', default_environment: 'production', default_status: 'SUCCESS' }], 'list shows them')
  t.match((await keys(databaseUrl, ['list', '--client', 'acme'])).stdout, /default environment production, default status SUCCESS/)
  const { api_key: apiKey } = created
  const records = [
    { timeUnixNano: TIME_NS, body: str('defaults') },
    { timeUnixNano: TIME_NS, body: str('own status'), attributes: [{ key: 'status', value: str('failure') }] }
  ]
  t.equal((await postJson(app, apiKey, request(records))).statusCode, 200)
  t.equal((await postJson(app, apiKey, request([{ timeUnixNano: TIME_NS, body: str('own environment') }],
    [{ key: 'deployment.environment.name', value: str('staging') }]))).statusCode, 200)
  t.match(await listLogs(app, apiKey), [
    { message: 'defaults', environment: 'production', status: 'SUCCESS' },
    { message: 'own status', environment: 'production', status: 'FAILURE' },
    { message: 'own environment', environment: 'staging', status: 'SUCCESS' }
  ])

  // Changed for the client's next key: every instance hears of it, and its keys carry the new defaults.
  const reset = parsed<Created>(await keys(databaseUrl, ['create', 'acme', '--environment', 'default', '--status', 'default', '--json']))
  t.match(reset, { default_environment: null, default_status: null })
  let after: StoredLogBody[] = []
  for (let attempt = 0; attempt < 50; attempt++) {
    t.equal((await postJson(app, apiKey, request([{ timeUnixNano: TIME_NS, body: str(`after ${attempt}`) }]))).statusCode, 200)
    after = await listLogs(app, apiKey, `&q=${encodeURIComponent(`after ${attempt}`)}`)
    if (after[0]?.environment === 'default') break
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  t.match(after, [{ environment: 'default', status: 'UNKNOWN' }], 'back to the fallbacks')

  for (const [option, value] of [['--environment', 'x'.repeat(65)], ['--status', 'ß'.repeat(17)], ['--environment', 'a\u0007b'], ['--status', '']]) {
    const run = await keys(databaseUrl, ['create', 'acme', option!, value!])
    t.not(run.code, 0, `${option} ${JSON.stringify(value)} is refused`)
  }
})

void t.test('every rule of the native route holds: allowlists, signing, storage quota, one ingest budget, Basic credentials', async (t) => {
  const { app } = await buildTestApp(t, { INGEST_RATE_LIMIT: '3', STORAGE_QUOTA_BYTES: '1000000' })
  const { apiKey } = await issueKey(app, 'acme')
  const elsewhere = await issueKey(app, 'acme', { allowedCidrs: ['10.0.0.0/8'] })
  const body = (message: string) => request([{ timeUnixNano: TIME_NS, body: str(message) }])

  expectError(t, await postJson(app, elsewhere.apiKey, body('from outside the allowlist')), 403, 'address_not_allowed')
  const basic = `Basic ${Buffer.from(`otel:${apiKey}`).toString('base64')}`
  t.equal((await postJson(app, apiKey, body('with Basic'), { authorization: basic })).statusCode, 200, 'Basic, the key as the password')
  t.equal((await postProto(app, apiKey, encodeRequest(body('with ApiKey')), { authorization: `ApiKey ${apiKey}` })).statusCode, 200)
  // Two logs this minute already: one native entry fits the budget of 3, and then an OTLP record does not.
  const native = await app.inject({ method: 'POST', url: '/api/v1/logs', headers: { 'x-api-key': apiKey }, payload: { environment: 'production', executed_at: TIME_ISO, status: 'SUCCESS' } })
  t.equal(native.statusCode, 201)
  expectError(t, await postJson(app, apiKey, body('over the shared budget')), 429, 'ingest_rate_limited')
  t.equal(await countLogs(app), 3)

  const signed = await buildTestApp(t, { API_SIGNING_REQUIRED: 'true' })
  const signer = await issueKey(signed.app, 'acme')
  const unsigned = await postJson(signed.app, signer.apiKey, body('unsigned'))
  t.equal(unsigned.statusCode, 401, `a client that must sign is refused unsigned (${unsigned.json<{ code: string }>().code})`)

  const full = await buildTestApp(t, { STORAGE_QUOTA_BYTES: '1' })
  const keyOfFull = await issueKey(full.app, 'acme')
  t.equal((await postJson(full.app, keyOfFull.apiKey, body('the first fits'))).statusCode, 200)
  await full.app.usage.flush()
  const refused = await postProto(full.app, keyOfFull.apiKey, encodeRequest(body('over the quota')))
  t.equal(refused.statusCode, 403)
  t.match(decodeStatus(refused.rawPayload), { code: 7, message: /storage_quota_exceeded/ })
  t.equal(await countLogs(full.app), 1)
})

void t.test('a full request: 1,000 records of 2 KB in JSON and in gzipped protobuf', async (t) => {
  const { app } = await buildTestApp(t)
  const { apiKey } = await issueKey(app, 'acme')
  const full = (tag: string) => request(Array.from({ length: 1000 }, (_, i) => ({
    timeUnixNano: TIME_NS,
    body: str(`${tag} ${i} ${'x'.repeat(2000)}`),
    attributes: Array.from({ length: 8 }, (_, k) => ({ key: `attr.${k}`, value: str(`value ${k}`) }))
  })))
  const json = JSON.stringify(full('json'))
  t.ok(json.length > 2 * 1024 * 1024, `${json.length} bytes of JSON`)
  const res = await postJson(app, apiKey, json)
  t.equal(res.statusCode, 200, res.body.slice(0, 200))
  t.same(res.json(), {})
  const proto = await postProto(app, apiKey, gzipSync(encodeRequest(full('proto'))), { 'content-encoding': 'gzip' })
  t.equal(proto.statusCode, 200)
  t.equal(await countLogs(app), 2000)
})
