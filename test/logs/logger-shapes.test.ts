// POST /api/v1/logs reading what common loggers send: their field names,
// times and level names, the client's defaults, {"logs": [...]} batches,
// NDJSON without a Content-Type, form-encoded entries, and ?success_status.
import { gzipSync } from 'node:zlib'
import type { FastifyInstance } from 'fastify'
import t from 'tap'
import { setClientLimits } from '../../src/clients/settings.ts'
import type { ErrorBody } from '../../src/errors.ts'
import type { BatchResultBody, RejectionBody, StoredLogBody } from '../../src/logs/schemas.ts'
import { buildTestApp, countLogs, entry, expectError, issueKey, postLogs, type IssuedKey } from '../helper.ts'

function issuesOf (body: ErrorBody): RejectionBody[] {
  return Array.isArray(body.details) ? body.details as RejectionBody[] : []
}

/** A key of a client with defaults for environment and status. */
async function keyWithDefaults (app: FastifyInstance, name = 'acme'): Promise<IssuedKey> {
  const key = await issueKey(app, name)
  await setClientLimits(app.db, key.clientId, { defaultEnvironment: 'production', defaultStatus: 'OK' }, { actor: 'cli:test' })
  return key
}

async function stored (app: FastifyInstance, apiKey: string, body: unknown): Promise<StoredLogBody> {
  const res = await postLogs(app, apiKey, body)
  t.equal(res.statusCode, 201, res.body)
  return res.json<StoredLogBody>()
}

void t.test('a pino line is a log: msg, time in ms and a level number mapped, the client\'s defaults filled in', async (t) => {
  const { app } = await buildTestApp(t)
  const key = await keyWithDefaults(app)
  const log = await stored(app, key.apiKey, { level: 30, time: 1764750000123, pid: 4242, hostname: 'web-1', msg: 'listening', port: 8080 })
  t.match(log, {
    environment: 'production',
    status: 'OK',
    level: 'info',
    message: 'listening',
    executed_at: '2025-12-03T08:20:00.123Z',
    attributes: { pid: 4242, hostname: 'web-1', port: 8080 }
  })
  t.notOk('level_original' in (log.attributes ?? {}), 'a standard pino number is said exactly by the level')
  t.notOk('time' in (log.attributes ?? {}) || 'msg' in (log.attributes ?? {}), 'the mapped fields are not kept twice')

  const custom = await stored(app, key.apiKey, { level: 35, time: 1764750000123, msg: 'custom level' })
  t.equal(custom.level, 'info', 'a level between two rounds down')
  t.same(custom.attributes, { level_original: 35 })
  t.equal((await stored(app, key.apiKey, { level: 5, time: 1764750000123, msg: 'below trace' })).level, 'trace')
  t.equal((await stored(app, key.apiKey, { level: 70, time: 1764750000123, msg: 'above fatal' })).level, 'fatal')
})

void t.test('without a default, environment and status stay required; executed_at without a logger\'s time too', async (t) => {
  const { app } = await buildTestApp(t)
  const key = await issueKey(app, 'acme')
  const res = await postLogs(app, key.apiKey, { level: 30, msg: 'no defaults, no time' })
  const issues = issuesOf(expectError(t, res, 400, 'invalid_entries'))
  t.match(issues, [
    { field: 'environment', code: 'missing_field', message: /default for the client \(PATCH \/api\/v1\/client\)/ },
    { field: 'executed_at', code: 'missing_field', message: /time, timestamp, @timestamp, created/ },
    { field: 'status', code: 'missing_field' }
  ])
  const withDefaults = await keyWithDefaults(app, 'globex')
  const noTime = await postLogs(app, withDefaults.apiKey, { level: 'info', message: 'defaults, no time' })
  t.match(issuesOf(expectError(t, noTime, 400, 'invalid_entries')), [{ field: 'executed_at', code: 'missing_field' }])
  t.equal(await countLogs(app), 0)

  // What the entry says wins over a default.
  const own = await stored(app, withDefaults.apiKey, entry({ environment: 'staging', status: 'failure' }))
  t.match(own, { environment: 'staging', status: 'FAILURE' })
})

void t.test('a logger\'s time: epoch ms or seconds, digits, ISO text, under each name, and bad ones named as sent', async (t) => {
  const { app } = await buildTestApp(t)
  const key = await keyWithDefaults(app)
  const cases: Array<[Record<string, unknown>, string]> = [
    [{ time: 1764750000123 }, '2025-12-03T08:20:00.123Z'],
    [{ time: 1764750000.1237 }, '2025-12-03T08:20:00.124Z'],
    [{ created: '1764750000.5' }, '2025-12-03T08:20:00.500Z'],
    [{ timestamp: '2025-12-03T08:20:00.123Z' }, '2025-12-03T08:20:00.123Z'],
    [{ '@timestamp': '2025-12-03T09:20:00+01:00' }, '2025-12-03T08:20:00.000Z'],
    [{ time: '2025-12-03T08:20:00Z', timestamp: 1 }, '2025-12-03T08:20:00.000Z']
  ]
  for (const [fields, executedAt] of cases) {
    const log = await stored(app, key.apiKey, { msg: 'timed', ...fields })
    t.equal(log.executed_at, executedAt, JSON.stringify(fields))
  }
  const both = await stored(app, key.apiKey, { executed_at: '2026-01-01T00:00:00Z', time: 5, msg: 'both' })
  t.equal(both.executed_at, '2026-01-01T00:00:00.000Z', 'executed_at wins')
  t.same(both.attributes, { time: 5 }, 'and the logger\'s time stays an attribute')

  const bad = await postLogs(app, key.apiKey, [
    { time: true, msg: 'a' },
    { timestamp: 'yesterday', msg: 'b' },
    { time: 1e17, msg: 'c' },
    { '@timestamp': '2025-13-01T00:00:00Z', level: 'loud', msg: 'd' }
  ])
  t.match(issuesOf(expectError(t, bad, 400, 'invalid_entries')), [
    { index: 0, field: 'time', code: 'invalid_type' },
    { index: 1, field: 'timestamp', code: 'invalid_format' },
    { index: 2, field: 'time', code: 'out_of_range' },
    { index: 3, field: 'level', code: 'invalid_value' },
    { index: 3, field: '@timestamp', code: 'invalid_format' }
  ])
  t.equal(await countLogs(app), cases.length + 1)
})

void t.test('level names of npm, syslog and Python, any case, and severity and levelname for level', async (t) => {
  const { app } = await buildTestApp(t)
  const key = await keyWithDefaults(app)
  const cases: Array<[Record<string, unknown>, string, unknown]> = [
    [{ level: 'http' }, 'debug', 'http'],
    [{ level: 'verbose' }, 'debug', 'verbose'],
    [{ level: 'silly' }, 'trace', 'silly'],
    [{ level: 'WARNING' }, 'warn', 'WARNING'],
    [{ level: 'INFO' }, 'info', undefined],
    [{ severity: 'notice' }, 'info', 'notice'],
    [{ severity: 'Crit' }, 'fatal', 'Crit'],
    [{ levelname: 'CRITICAL' }, 'fatal', 'CRITICAL'],
    [{ levelname: 'ERROR' }, 'error', undefined],
    [{ level: 'emerg' }, 'fatal', 'emerg'],
    [{ level: 'err' }, 'error', 'err']
  ]
  for (const [fields, level, original] of cases) {
    const log = await stored(app, key.apiKey, { time: 1764750000123, msg: 'levelled', ...fields })
    t.equal(log.level, level, JSON.stringify(fields))
    t.same(log.attributes, original === undefined ? null : { level_original: original }, `${JSON.stringify(fields)}: as sent`)
  }
  const both = await stored(app, key.apiKey, { time: 1764750000123, level: 'error', severity: 'debug' })
  t.match(both, { level: 'error', attributes: { severity: 'debug' } }, 'level wins; severity stays an attribute')

  const bad = await postLogs(app, key.apiKey, [
    { time: 1, severity: 'loud' },
    { time: 1, level: -1 },
    { time: 1, levelname: ['INFO'] },
    { time: 1, level: 'http', level_original: 'x' }
  ])
  t.match(issuesOf(expectError(t, bad, 400, 'invalid_entries')), [
    { index: 0, field: 'severity', code: 'invalid_value' },
    { index: 1, field: 'level', code: 'invalid_value' },
    { index: 2, field: 'levelname', code: 'invalid_type' },
    { index: 3, field: 'level', code: 'attribute_conflict' }
  ])
})

void t.test('msg is the message only when there is no message', async (t) => {
  const { app } = await buildTestApp(t)
  const key = await keyWithDefaults(app)
  const log = await stored(app, key.apiKey, entry({ message: 'formatted 42', msg: 'formatted %d' }))
  t.match(log, { message: 'formatted 42', attributes: { msg: 'formatted %d' } })
  const long = await postLogs(app, key.apiKey, { time: 1, msg: 'x'.repeat(70_000) })
  t.match(issuesOf(expectError(t, long, 400, 'invalid_entries')), [{ field: 'msg', code: 'too_long' }])
})

void t.test('{"logs": [...]} is a batch, small or large; anything beside logs is refused', async (t) => {
  const { app } = await buildTestApp(t)
  const key = await keyWithDefaults(app)
  const small = await postLogs(app, key.apiKey, { logs: [{ level: 30, time: 1, msg: 'a' }, { level: 40, time: 2, msg: 'b' }] })
  t.equal(small.statusCode, 201)
  t.match(small.json<BatchResultBody>(), { accepted: 2, duplicates: 0 })

  const lines = Array.from({ length: 400 }, (_, i) => ({ level: 30, time: 1764750000000 + i, msg: `line ${i} ${'x'.repeat(100)}` }))
  const large = JSON.stringify({ logs: lines }, null, 1)
  t.ok(large.length > 40_000, 'scanned as it arrives, not parsed whole')
  const res = await postLogs(app, key.apiKey, large)
  t.equal(res.statusCode, 201, res.body)
  t.equal(res.json<BatchResultBody>().accepted, 400)

  const extra = await postLogs(app, key.apiKey, { logs: [{ time: 1, msg: 'a' }], other: 1 })
  t.match(expectError(t, extra, 400, 'invalid_request').message, /nothing besides "logs"/)
  const largeExtra = `${large.slice(0, -1)}, "other": 1}`
  expectError(t, await postLogs(app, key.apiKey, largeExtra), 400, 'invalid_request')
  expectError(t, await postLogs(app, key.apiKey, `${large}}`), 400, 'invalid_json')
  expectError(t, await postLogs(app, key.apiKey, large.slice(0, -1)), 400, 'invalid_json')
  t.equal(await countLogs(app), 402)
})

void t.test('a body without Content-Type is NDJSON on the ingest route, and 415 elsewhere', async (t) => {
  const { app } = await buildTestApp(t)
  const key = await keyWithDefaults(app)
  const ndjson = '{"level":30,"time":1764750000123,"msg":"one"}\n{"level":50,"time":1764750000124,"msg":"two"}\n'
  const res = await app.inject({ method: 'POST', url: '/api/v1/logs', headers: { 'x-api-key': key.apiKey }, payload: ndjson })
  t.equal(res.statusCode, 201, res.body)
  t.match(res.json<BatchResultBody>(), { accepted: 2 })
  const text = await postLogs(app, key.apiKey, ndjson, { contentType: 'text/plain' })
  t.match(expectError(t, text, 415, 'unsupported_media_type').message, /x-www-form-urlencoded/)
  const admin = await issueKey(app, 'acme', { scopes: ['keys:manage'] })
  const elsewhere = await app.inject({ method: 'POST', url: '/api/v1/keys', headers: { 'x-api-key': admin.apiKey }, payload: '{}' })
  expectError(t, elsewhere, 415, 'unsupported_media_type')
  t.equal(await countLogs(app), 2)
})

void t.test('a form-encoded body is one entry of text values', async (t) => {
  const { app } = await buildTestApp(t)
  const key = await keyWithDefaults(app)
  const form = new URLSearchParams({ name: 'etl', msg: 'load %s done', args: "('x',)", levelname: 'WARNING', levelno: '30', created: '1764750000.25', lineno: '12' })
  const res = await postLogs(app, key.apiKey, form.toString(), { contentType: 'application/x-www-form-urlencoded' })
  t.equal(res.statusCode, 201, res.body)
  t.match(res.json<StoredLogBody>(), {
    level: 'warn',
    message: 'load %s done',
    executed_at: '2025-12-03T08:20:00.250Z',
    attributes: { name: 'etl', args: "('x',)", levelno: '30', lineno: '12', level_original: 'WARNING' }
  })
  const repeated = await postLogs(app, key.apiKey, 'time=1&msg=a&tag=x&tag=y+z', { contentType: 'application/x-www-form-urlencoded' })
  t.match(repeated.json<StoredLogBody>(), { message: 'a', attributes: { tag: ['x', 'y z'] } })

  const form400 = async (payload: string | Buffer, code: string): Promise<void> => {
    expectError(t, await postLogs(app, key.apiKey, payload, { contentType: 'application/x-www-form-urlencoded' }), 400, code)
  }
  await form400('time=1&msg=%FF', 'invalid_encoding')
  await form400('time=1&msg=%zz', 'invalid_encoding')
  await form400(Buffer.from([0x6d, 0x73, 0x67, 0x3d, 0xff]), 'invalid_encoding')
  await form400('time=1&__proto__=x', 'invalid_request')
  await form400('environment=&time=1', 'invalid_entries')
  const big = await postLogs(app, key.apiKey, `time=1&msg=${'x'.repeat(1024 * 1024)}`, { contentType: 'application/x-www-form-urlencoded' })
  t.match(issuesOf(expectError(t, big, 400, 'invalid_entries')), [{ code: 'too_large' }], 'an entry past 1 MiB is not parsed')
  const huge = await postLogs(app, key.apiKey, gzipSync(`msg=${'x'.repeat(6 * 1024 * 1024)}`), { contentType: 'application/x-www-form-urlencoded', encoding: 'gzip' })
  expectError(t, huge, 413, 'payload_too_large')
  const zipped = await postLogs(app, key.apiKey, gzipSync('time=1&msg=zipped'), { contentType: 'application/x-www-form-urlencoded', encoding: 'gzip' })
  t.equal(zipped.json<StoredLogBody>().message, 'zipped', 'gzip is read as for JSON')
  const many = Array.from({ length: 1001 }, (_, i) => `f${i}=1`).join('&')
  const tooMany = await postLogs(app, key.apiKey, many, { contentType: 'application/x-www-form-urlencoded' })
  t.match(issuesOf(expectError(t, tooMany, 400, 'invalid_entries')), [{ code: 'too_many_fields' }])
  const admin = await issueKey(app, 'acme', { scopes: ['keys:manage'] })
  const elsewhere = await app.inject({
    method: 'POST', url: '/api/v1/keys', headers: { 'x-api-key': admin.apiKey, 'content-type': 'application/x-www-form-urlencoded' }, payload: 'name=x'
  })
  expectError(t, elsewhere, 415, 'unsupported_media_type')
  t.equal(await countLogs(app), 3)
})

void t.test('?success_status=200 answers a success 200, and takes nothing else', async (t) => {
  const { app } = await buildTestApp(t)
  const key = await keyWithDefaults(app)
  const single = await postLogs(app, key.apiKey, { msg: 'ok', time: 1 }, { query: '?success_status=200' })
  t.equal(single.statusCode, 200)
  t.equal(single.json<StoredLogBody>().message, 'ok')
  const batch = await postLogs(app, key.apiKey, [{ msg: 'a', time: 1 }], { query: '?success_status=200' })
  t.equal(batch.statusCode, 200)
  t.equal(batch.json<BatchResultBody>().accepted, 1)
  expectError(t, await postLogs(app, key.apiKey, { msg: 'x', time: 1 }, { query: '?success_status=204' }), 400, 'invalid_request')
  const invalid = await postLogs(app, key.apiKey, { msg: 'no time' }, { query: '?success_status=200' })
  expectError(t, invalid, 400, 'invalid_entries')
})
