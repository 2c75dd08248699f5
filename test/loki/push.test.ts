// POST /loki/api/v1/push driven with hand-made pushes through app.inject: the
// mapping to log entries in both encodings, entries refused one by one while
// the rest are stored, idempotency by event_id, and every way a request is
// refused whole with nothing stored.
import { gzipSync } from 'node:zlib'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { compressSync } from 'snappy'
import t, { type Test } from 'tap'
import type { StoredLogBody } from '../../src/logs/schemas.ts'
import { encodePushRequest, type PushRequest } from '../../src/loki/proto.ts'
import { buildTestApp, countLogs, expectError, issueKey } from '../helper.ts'
import { keys, parsed, type Created } from '../cli/run.ts'

const TIME_NS = '1795000000123456789' // 2026-11-17T08:26:40.123Z
const TIME_ISO = new Date(1795000000123).toISOString()

function basic (apiKey: string): string {
  return `Basic ${Buffer.from(`loki:${apiKey}`).toString('base64')}`
}

async function push (app: FastifyInstance, apiKey: string, payload: unknown, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
  return await app.inject({
    method: 'POST',
    url: '/loki/api/v1/push',
    headers: { 'content-type': 'application/json', authorization: basic(apiKey), ...headers },
    payload: typeof payload === 'string' || Buffer.isBuffer(payload) ? payload : JSON.stringify(payload)
  })
}

async function pushProto (app: FastifyInstance, apiKey: string, request: PushRequest | Buffer, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
  const body = Buffer.isBuffer(request) ? request : compressSync(encodePushRequest(request))
  return await push(app, apiKey, body, { 'content-type': 'application/x-protobuf', ...headers })
}

async function listLogs (app: FastifyInstance, apiKey: string, query = ''): Promise<StoredLogBody[]> {
  const res = await app.inject({ method: 'GET', url: `/api/v1/logs?order=asc&limit=1000${query}`, headers: { 'x-api-key': apiKey } })
  t.equal(res.statusCode, 200)
  return res.json<{ data: StoredLogBody[] }>().data
}

function expectStored (t: Test, res: LightMyRequestResponse): void {
  t.equal(res.statusCode, 204, `204 (${res.body.slice(0, 300)})`)
  t.equal(res.body, '', 'no body, as Loki answers')
}

void t.test('a JSON push: labels, structured metadata and JSON lines mapped to fields, 204', async (t) => {
  const { app } = await buildTestApp(t)
  const { apiKey } = await issueKey(app, 'acme')
  const before = Date.now()
  const res = await push(app, apiKey, {
    streams: [{
      stream: { env: 'production', job: 'nightly-etl', level: 'warning', host: 'worker-1' },
      values: [
        [TIME_NS, 'disk almost full', { run_id: 'run-7', status: 'failure', duration_ms: '1500.5', step: 'load', trace_id: 'abc123' }],
        [TIME_NS, JSON.stringify({ level: 50, time: 1795000000999, msg: 'load failed', pid: 42, workflow_id: 'wf-1', err: { type: 'Error' } })],
        ['0', 'no time'],
        [TIME_NS, '{not json}'],
        [TIME_NS, '{"__proto__": {"polluted": true}, "msg": "poisoned"}'],
        [TIME_NS, '["an", "array"]']
      ]
    }, {
      stream: { environment: 'staging', service_name: 'api', app: 'shop', detected_level: 'ERR' },
      values: [[TIME_NS, '{"message":"from the message field","severity":"notice","status":"ok","workflow_name":"own-name","extra":[1,2]}']]
    }]
  })
  expectStored(t, res)
  const logs = await listLogs(app, apiKey)
  t.equal(logs.length, 7)
  for (const line of ['{not json}', '{"__proto__": {"polluted": true}, "msg": "poisoned"}', '["an", "array"]']) {
    t.ok(logs.some((log) => log.message === line), `${line}: not one plain JSON object, so the message as sent`)
  }
  t.match(logs.find((log) => log.message === 'disk almost full'), {
    environment: 'production',
    executed_at: TIME_ISO,
    level: 'warn',
    status: 'FAILURE',
    workflow_name: 'nightly-etl',
    run_id: 'run-7',
    step: 'load',
    trace_id: 'abc123',
    duration_ms: 1500.5,
    attributes: { host: 'worker-1' }
  })
  t.match(logs.find((log) => log.message === 'load failed'), {
    level: 'error',
    executed_at: TIME_ISO,
    workflow_id: 'wf-1',
    status: 'UNKNOWN',
    attributes: { pid: 42, err: { type: 'Error' }, host: 'worker-1' }
  }, 'a JSON line: msg, level (pino\'s number) and fields; the Loki timestamp wins over the line\'s time')
  const noTime = logs.find((log) => log.message === 'no time')
  t.ok(noTime !== undefined && Date.parse(noTime.executed_at) >= before - 1 && Date.parse(noTime.executed_at) <= Date.now(), 'timestamp "0": the time of receipt')
  const own = logs.find((log) => log.message === 'from the message field')
  t.match(own, { environment: 'staging', level: 'info', status: 'OK', workflow_name: 'own-name' }, 'the line\'s fields win over the labels')
  t.same(own?.attributes, { service_name: 'api', app: 'shop', detected_level: 'ERR', extra: [1, 2] }, 'labels not taken stay attributes')
  t.notOk(logs.some((log) => 'time' in (log.attributes ?? {})), 'a JSON line\'s time is not kept twice')
})

void t.test('a protobuf push in Snappy: label syntax with escapes, metadata, nanosecond times', async (t) => {
  const { app } = await buildTestApp(t)
  const { apiKey } = await issueKey(app, 'acme')
  const res = await pushProto(app, apiKey, {
    streams: [{
      labels: '{app="shop\\"front", environment = `prod`, note="tab\\there \\u00e9\\xc3\\xa9 \\101", level="crit",}',
      entries: [
        { timestamp: { seconds: '1795000000', nanos: 123456789 }, line: 'checkout failed', structuredMetadata: [{ name: 'event_id', value: 'evt-1' }, { name: 'order', value: '17' }] },
        { line: 'no timestamp' }
      ]
    }]
  })
  expectStored(t, res)
  const logs = await listLogs(app, apiKey)
  t.match(logs.find((log) => log.message === 'checkout failed'), {
    environment: 'prod',
    executed_at: TIME_ISO,
    level: 'fatal',
    workflow_name: 'shop"front',
    event_id: 'evt-1',
    attributes: { note: 'tab\there éé A', order: '17' }
  })
  t.ok(logs.some((log) => log.message === 'no timestamp' && Date.now() - Date.parse(log.executed_at) < 60_000), 'no timestamp: the time of receipt')

  // Vector marks the same body Content-Encoding: snappy; gzip around it is undone first.
  const body = compressSync(encodePushRequest({ streams: [{ labels: '{job="vector"}', entries: [{ timestamp: { seconds: '1795000000' }, line: 'from vector' }] }] }))
  expectStored(t, await pushProto(app, apiKey, body, { 'content-encoding': 'snappy' }))
  expectStored(t, await pushProto(app, apiKey, gzipSync(body), { 'content-encoding': 'gzip' }))
  t.equal((await listLogs(app, apiKey, '&q=vector')).length, 2)
})

void t.test('protobuf: metadata over labels, the later of two pairs, values that stay attributes, times around the epoch', async (t) => {
  const { app } = await buildTestApp(t)
  const { apiKey } = await issueKey(app, 'acme')
  const metadata = (pairs: Array<[string, string]>): Array<{ name: string, value: string }> => pairs.map(([name, value]) => ({ name, value }))
  expectStored(t, await pushProto(app, apiKey, {
    streams: [{
      labels: '{environment="from-label", level="info", host="h1", __proto__="label", job="etl"}',
      entries: [
        { timestamp: { seconds: '1795000000', nanos: 123456789 }, line: 'precedence', structuredMetadata: metadata([['environment', 'first'], ['environment', 'second'], ['level', 'bogus'], ['run_id', ''], ['host', 'h2']]) },
        { timestamp: { seconds: '-1', nanos: 1_500_000_000 }, line: 'half a second after the epoch' },
        { timestamp: { seconds: '-1', nanos: 1_000_000_001 }, line: 'one nanosecond after the epoch' },
        { timestamp: { seconds: '-5' }, line: 'before the epoch: none' },
        { timestamp: { seconds: '0', nanos: 0 }, line: 'zero: none' }
      ]
    }]
  }))
  const logs = await listLogs(app, apiKey)
  const precedence = logs.find((log) => log.message === 'precedence')
  t.match(precedence, { environment: 'second', level: 'info', workflow_name: 'etl', run_id: null, executed_at: TIME_ISO }, 'the later pair wins; an unreadable level falls back')
  t.same(precedence?.attributes, { level: 'bogus', host: 'h2', ['__proto__']: 'label', run_id: '' }, 'what is not taken stays, in first-seen order, the last value')
  t.equal(logs.find((log) => log.message === 'half a second after the epoch')?.executed_at, '1970-01-01T00:00:00.500Z')
  t.equal(logs.find((log) => log.message === 'one nanosecond after the epoch')?.executed_at, '1970-01-01T00:00:00.000Z')
  for (const message of ['before the epoch: none', 'zero: none']) {
    const log = logs.find((log) => log.message === message)
    t.ok(log !== undefined && Date.now() - Date.parse(log.executed_at) < 60_000, `${message}: the time of receipt`)
  }
})

void t.test('entries are named by stream and place across streams, empty streams included', async (t) => {
  const { app } = await buildTestApp(t)
  const { apiKey } = await issueKey(app, 'acme')
  const tooLong = 'x'.repeat(40)
  const proto = await pushProto(app, apiKey, {
    streams: [
      { labels: '{job="a"}', entries: [{ line: 'a0' }] },
      { labels: '{job="empty"}', entries: [] },
      { labels: '{job="b"}', entries: [{ line: 'b0' }, { line: 'b1', structuredMetadata: [{ name: 'status', value: tooLong }] }] }
    ]
  })
  expectStored(t, proto)
  t.match(proto.headers['x-first-rejection'], /^streams\[2\]\.entries\[1\]: status too_long: /)
  const body = expectError(t, await push(app, apiKey, {
    streams: [
      { stream: { job: 'c' }, values: [] },
      { stream: { job: 'd' }, values: [[TIME_NS, 'd0', { status: tooLong }], [TIME_NS, 'd1', { status: tooLong }]] },
      { stream: { job: 'e' } },
      { stream: { job: 'f' }, values: [[TIME_NS, 'f0', { status: tooLong }]] }
    ]
  }), 400, 'invalid_entries')
  t.match(body.details, [
    { index: 0, path: 'streams[1].values[0]' },
    { index: 1, path: 'streams[1].values[1]' },
    { index: 2, path: 'streams[3].values[0]' }
  ])
  t.same((await listLogs(app, apiKey)).map((log) => log.message), ['a0', 'b0'])
})

void t.test('a protobuf string that is not UTF-8: 400 invalid_protobuf, nothing stored; UTF-8 of every width is read', async (t) => {
  const { app } = await buildTestApp(t)
  const { apiKey } = await issueKey(app, 'acme')
  const encoded = encodePushRequest({ streams: [{ labels: '{job="utf8"}', entries: [{ line: 'ok MARK' }] }] })
  const at = encoded.indexOf('MARK')
  encoded[at] = 0xc3
  encoded[at + 1] = 0x28 // not a continuation byte
  const bad = expectError(t, await pushProto(app, apiKey, compressSync(encoded)), 400, 'invalid_protobuf')
  t.match(bad.message, /UTF-8/)
  const lines = ['café', '日本語', '🙂', `${'long '.repeat(20)}é`]
  expectStored(t, await pushProto(app, apiKey, { streams: [{ labels: '{job="utf8", note="ünïcode"}', entries: lines.map((line) => ({ line })) }] }))
  const logs = await listLogs(app, apiKey)
  t.same(logs.map((log) => log.message).sort(), [...lines].sort())
  t.same(logs[0]?.attributes, { note: 'ünïcode' })
})

void t.test('JSON gzip-compressed, and an empty push', async (t) => {
  const { app } = await buildTestApp(t)
  const { apiKey } = await issueKey(app, 'acme')
  const body = gzipSync(JSON.stringify({ streams: [{ stream: { job: 'gz' }, values: [[TIME_NS, 'zipped']] }] }))
  expectStored(t, await push(app, apiKey, body, { 'content-encoding': 'gzip' }))
  expectStored(t, await push(app, apiKey, { streams: [] }))
  expectStored(t, await pushProto(app, apiKey, {}))
  t.match(await listLogs(app, apiKey), [{ message: 'zipped', workflow_name: 'gz' }])
})

void t.test('an entry that cannot be stored is refused alone: the rest stored, 204 with X-Rejected-Entries', async (t) => {
  const { app } = await buildTestApp(t)
  const { apiKey } = await issueKey(app, 'acme')
  const res = await push(app, apiKey, {
    streams: [{
      stream: { job: 'mixed' },
      values: [[TIME_NS, 'good one'], [TIME_NS, 'bad status', { status: 'x'.repeat(40) }], [TIME_NS, 'nul \u0000 inside'], [TIME_NS, 'good two']]
    }]
  })
  expectStored(t, res)
  t.equal(res.headers['x-rejected-entries'], '2')
  t.match(res.headers['x-first-rejection'], /^streams\[0\]\.values\[1\]: status too_long: /)
  t.same((await listLogs(app, apiKey)).map((log) => log.message), ['good one', 'good two'])

  // A stream whose labels are not Prometheus' syntax (winston-loki does not escape quotes): its entries refused, the others stored.
  const proto = await pushProto(app, apiKey, {
    streams: [
      { labels: '{job="say "hi""}', entries: [{ timestamp: { seconds: '1795000000' }, line: 'unreadable labels' }] },
      { labels: '{job="fine"}', entries: [{ timestamp: { seconds: '1795000000' }, line: 'readable labels' }] }
    ]
  })
  expectStored(t, proto)
  t.equal(proto.headers['x-rejected-entries'], '1')
  t.match(proto.headers['x-first-rejection'], /^streams\[0\]\.entries\[0\]: invalid_labels: /)
  t.equal(await countLogs(app), 3)
})

void t.test('a push none of whose entries can be stored: 400 invalid_entries naming each, nothing stored', async (t) => {
  const { app } = await buildTestApp(t)
  const { apiKey } = await issueKey(app, 'acme')
  const body = expectError(t, await push(app, apiKey, {
    streams: [{ stream: { environment: 'e'.repeat(65) }, values: [[TIME_NS, 'one'], [TIME_NS, 'two']] }]
  }), 400, 'invalid_entries')
  t.match(body.details, [
    { index: 0, path: 'streams[0].values[0]', field: 'environment', code: 'too_long' },
    { index: 1, path: 'streams[0].values[1]', field: 'environment', code: 'too_long' }
  ])
  expectError(t, await pushProto(app, apiKey, { streams: [{ labels: '{a=b}', entries: [{ line: 'x' }] }] }), 400, 'invalid_entries')
  expectError(t, await pushProto(app, apiKey, { streams: [{ labels: '{a="b"}', entries: [{ timestamp: { seconds: '999999999999' }, line: 'year 33658' }] }] }), 400, 'invalid_entries')
  // The int64 extremes, past what a double holds exactly: still no storable time.
  for (const seconds of ['9223372036854775807', '9007199254740993']) {
    expectError(t, await pushProto(app, apiKey, { streams: [{ labels: '{a="b"}', entries: [{ timestamp: { seconds }, line: 'far future' }] }] }), 400, 'invalid_entries')
  }
  t.equal(await countLogs(app), 0)
})

void t.test('event_id from a label or structured metadata: a push sent again is stored once', async (t) => {
  const { app } = await buildTestApp(t)
  const { apiKey } = await issueKey(app, 'acme')
  const json = { streams: [{ stream: { job: 'retry' }, values: [[TIME_NS, 'once', { event_id: 'evt-a' }], [TIME_NS, 'twice', { event_id: 'evt-b' }]] }] }
  const proto: PushRequest = { streams: [{ labels: '{job="retry", event_id="evt-c"}', entries: [{ timestamp: { seconds: '1795000000' }, line: 'labelled' }] }] }
  for (let round = 0; round < 2; round++) {
    expectStored(t, await push(app, apiKey, json))
    expectStored(t, await pushProto(app, apiKey, proto))
  }
  t.same((await listLogs(app, apiKey)).map((log) => log.event_id).sort(), ['evt-a', 'evt-b', 'evt-c'])
})

void t.test('a client\'s defaults fill environment and status', async (t) => {
  const { app, databaseUrl } = await buildTestApp(t)
  const created = parsed<Created>(await keys(databaseUrl, ['create', 'acme', '--environment', 'production', '--status', 'success', '--json']))
  expectStored(t, await push(app, created.api_key, { streams: [{ stream: { job: 'd' }, values: [[TIME_NS, 'defaults'], [TIME_NS, 'own', { env: 'dev', status: 'failed' }]] }] }))
  t.match(await listLogs(app, created.api_key), [
    { message: 'defaults', environment: 'production', status: 'SUCCESS' },
    { message: 'own', environment: 'dev', status: 'FAILED' }
  ])
})

void t.test('limits: entries per request, Snappy bombs, the body limit', async (t) => {
  const { app } = await buildTestApp(t, { MAX_BATCH_ENTRIES: '3', MAX_BODY_BYTES: '65536' })
  const { apiKey } = await issueKey(app, 'acme')
  const values = Array.from({ length: 4 }, (_, i) => [TIME_NS, `line ${i}`])
  const json = expectError(t, await push(app, apiKey, { streams: [{ stream: { a: '1' }, values: values.slice(0, 2) }, { stream: { a: '2' }, values: values.slice(2) }] }), 413, 'too_many_entries')
  t.match(json.message, /at most 3 log entries/)
  expectError(t, await pushProto(app, apiKey, { streams: [{ labels: '{a="1"}', entries: values.map(([, line]) => ({ line })) }] }), 413, 'too_many_entries')

  // A block that announces 4 GiB in five bytes: refused from its header, nothing inflated.
  expectError(t, await pushProto(app, apiKey, Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x00])), 413, 'payload_too_large')
  // A real block of zeros that inflates past the limit from a few kilobytes.
  const bomb = compressSync(Buffer.alloc(65537))
  t.ok(bomb.length < 4096)
  expectError(t, await pushProto(app, apiKey, bomb), 413, 'payload_too_large')
  expectError(t, await push(app, apiKey, gzipSync(Buffer.alloc(70_000, 0x20)), { 'content-encoding': 'gzip' }), 413, 'payload_too_large')
  t.equal(await countLogs(app), 0)
})

void t.test('malformed pushes: a clear 4xx, nothing stored', async (t) => {
  const { app } = await buildTestApp(t)
  const { apiKey } = await issueKey(app, 'acme')
  const snappyOf = (bytes: Buffer): Buffer => compressSync(bytes)

  // Compression and encoding.
  expectError(t, await pushProto(app, apiKey, encodePushRequest({ streams: [{ labels: '{a="b"}', entries: [{ line: 'not compressed' }] }] })), 400)
  expectError(t, await pushProto(app, apiKey, Buffer.from([20, 0x24, 0x61, 0x62])), 400, 'invalid_compressed_body')
  expectError(t, await pushProto(app, apiKey, Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x01])), 400, 'invalid_compressed_body')
  expectError(t, await pushProto(app, apiKey, Buffer.alloc(0)), 400, 'invalid_compressed_body')
  const garbage = expectError(t, await pushProto(app, apiKey, snappyOf(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f, 0x01]))), 400, 'invalid_protobuf')
  t.match(garbage.message, /logproto\.PushRequest/)
  expectError(t, await pushProto(app, apiKey, snappyOf(Buffer.from('{"streams":[]}'))), 400, 'invalid_protobuf')
  expectError(t, await push(app, apiKey, JSON.stringify({ streams: [] }), { 'content-encoding': 'snappy' }), 415, 'unsupported_content_encoding')
  expectError(t, await push(app, apiKey, 'streams=1', { 'content-type': 'text/plain' }), 415, 'unsupported_media_type')
  expectError(t, await push(app, apiKey, '{"streams": [', {}), 400, 'invalid_json')

  // Shape and types, each refused whole with the field at fault named.
  const wrong: Array<[unknown, RegExp]> = [
    [{}, /streams/],
    [[], /body/],
    [{ streams: {} }, /body\.streams must be array/],
    [{ streams: [{ stream: { a: 1 }, values: [] }] }, /body\.streams\.0\.stream\.a must be string/],
    [{ streams: [{ stream: {}, values: [[1795000000, 'number timestamp']] }] }, /body\.streams\.0\.values\.0\.0 must be string/],
    [{ streams: [{ stream: {}, values: [['17950000001234567890123', 'too many digits']] }] }, /values\.0\.0 must match pattern/],
    [{ streams: [{ stream: {}, values: [['-5', 'negative']] }] }, /values\.0\.0 must match pattern/],
    [{ streams: [{ stream: {}, values: [[TIME_NS, 42]] }] }, /values\.0\.1 must be string/],
    [{ streams: [{ stream: {}, values: [[TIME_NS]] }] }, /values\.0 must NOT have fewer than 2 items/],
    [{ streams: [{ stream: {}, values: [[TIME_NS, 'x', {}, 'extra']] }] }, /values\.0 must NOT have more than 3 items/],
    [{ streams: [{ stream: {}, values: [[TIME_NS, 'x', { n: 5 }]] }] }, /values\.0\.2\.n must be string/],
    [{ streams: [{ stream: {}, values: [[TIME_NS, 'x', { deep: { deeper: { deepest: 'y' } } }]] }] }, /nests deeper/]
  ]
  for (const [body, message] of wrong) {
    const error = expectError(t, await push(app, apiKey, body), 400, 'invalid_request')
    t.match(error.message, message, JSON.stringify(body).slice(0, 80))
  }
  // A JSON bomb: nesting far deeper than any push, refused before any schema walks it.
  const deep = `{"streams":[{"stream":{},"values":[["1","x",${'['.repeat(5000)}${']'.repeat(5000)}]]}]}`
  expectError(t, await push(app, apiKey, deep), 400)
  t.equal(await countLogs(app), 0)
})

void t.test('another tenant sees none of a push; keys without logs:write are refused', async (t) => {
  const { app } = await buildTestApp(t)
  const a = await issueKey(app, 'acme')
  const b = await issueKey(app, 'globex')
  const readOnly = await issueKey(app, 'acme', { scopes: ['logs:read'] })
  expectStored(t, await push(app, a.apiKey, { streams: [{ stream: { job: 'a' }, values: [[TIME_NS, 'for acme']] }] }))
  t.same(await listLogs(app, b.apiKey), [])
  expectError(t, await push(app, readOnly.apiKey, { streams: [] }), 403, 'insufficient_scope')
  expectError(t, await push(app, 'clk_nonsense', { streams: [] }), 401)
  const noKey = await app.inject({ method: 'POST', url: '/loki/api/v1/push', headers: { 'content-type': 'application/json' }, payload: '{"streams":[]}' })
  expectError(t, noKey, 401, 'missing_api_key')
  t.equal(await countLogs(app), 1)
})
