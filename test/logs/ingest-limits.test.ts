// Per-request limits of POST /api/v1/logs: entries per request and body
// size counted after decompression (contract section 4), and their overrides.
import { deflateSync, gzipSync } from 'node:zlib'
import t from 'tap'
import type { BatchResultBody } from '../../src/logs/schemas.ts'
import { buildTestApp, countLogs, entry, expectError, issueKey, postLogs } from '../helper.ts'

const MIB = 1024 * 1024

const entries = (count: number, overrides: Record<string, unknown> = {}): Array<Record<string, unknown>> =>
  Array.from({ length: count }, (_, index) => entry({ message: `entry ${index}`, ...overrides }))

const ndjson = (items: unknown[]): string => items.map((item) => JSON.stringify(item)).join('\n')

/** A JSON array of `count` entries whose messages fill it to about `bytes`. */
function bodyOfSize (bytes: number, count: number): string {
  const overhead = JSON.stringify(entries(count, { message: '' })).length
  const each = Math.floor((bytes - overhead) / count)
  const body = JSON.stringify(entries(count, { message: 'x'.repeat(each) }))
  return body
}

void t.test('1,000 entries are accepted; 1,001 are 413 with the limit stated', async (t) => {
  const { app } = await buildTestApp(t)
  const key = await issueKey(app, 'acme')

  const tooMany = await postLogs(app, key.apiKey, entries(1001))
  const body = expectError(t, tooMany, 413, 'too_many_entries')
  t.match(body.message, /\b1,?000\b/, 'the message states the limit')
  t.equal(await countLogs(app), 0)

  const asNdjson = await postLogs(app, key.apiKey, ndjson(entries(1001)), { contentType: 'application/x-ndjson' })
  expectError(t, asNdjson, 413, 'too_many_entries')
  t.equal(await countLogs(app), 0)

  const full = await postLogs(app, key.apiKey, entries(1000))
  t.equal(full.statusCode, 201)
  const summary = full.json<BatchResultBody>()
  t.equal(summary.accepted, 1000)
  t.equal(summary.duplicates, 0)
  t.equal(new Set(summary.ids).size, 1000, 'each entry has its own id')
  t.equal(await countLogs(app), 1000)
})

void t.test('a body over 5 MiB is 413 with the limit stated; just under is accepted', async (t) => {
  const { app } = await buildTestApp(t)
  const key = await issueKey(app, 'acme')

  const over = bodyOfSize(5 * MIB + 4096, 90)
  t.ok(Buffer.byteLength(over) > 5 * MIB)
  const res = await postLogs(app, key.apiKey, over)
  const body = expectError(t, res, 413, 'payload_too_large')
  t.match(body.message, /5 MiB|5,?242,?880/, 'the message states the limit')
  t.equal(await countLogs(app), 0)

  const overNdjson = await postLogs(app, key.apiKey, ndjson(JSON.parse(over) as unknown[]), { contentType: 'application/x-ndjson' })
  expectError(t, overNdjson, 413, 'payload_too_large')
  t.equal(await countLogs(app), 0)

  // Messages are capped at 65,536 characters, so a body this size needs many entries.
  const under = bodyOfSize(5 * MIB - 8192, 80)
  t.ok(Buffer.byteLength(under) < 5 * MIB)
  t.ok(Buffer.byteLength(under) > 5 * MIB - 16384)
  const accepted = await postLogs(app, key.apiKey, under)
  t.equal(accepted.statusCode, 201)
  t.equal(accepted.json<BatchResultBody>().accepted, 80)
  t.equal(await countLogs(app), 80)
})

void t.test('a small compressed body that inflates past 5 MiB is 413', async (t) => {
  const { app } = await buildTestApp(t)
  const key = await issueKey(app, 'acme')
  const inflated = bodyOfSize(6 * MIB, 100)
  const gzipped = gzipSync(inflated)
  t.ok(gzipped.length < 100 * 1024, 'the compressed body is far under the limit')

  const gzipBomb = await postLogs(app, key.apiKey, gzipped, { encoding: 'gzip' })
  const body = expectError(t, gzipBomb, 413, 'payload_too_large')
  t.match(body.message, /5 MiB|5,?242,?880/)

  const deflateBomb = await postLogs(app, key.apiKey, deflateSync(inflated), { encoding: 'deflate' })
  expectError(t, deflateBomb, 413, 'payload_too_large')

  // Whitespace is valid JSON padding and compresses best of all.
  const padded = gzipSync(`[${JSON.stringify(entry())}${' '.repeat(6 * MIB)}]`)
  const paddedBomb = await postLogs(app, key.apiKey, padded, { encoding: 'gzip' })
  expectError(t, paddedBomb, 413, 'payload_too_large')

  const ndjsonBomb = await postLogs(app, key.apiKey, gzipSync(ndjson(JSON.parse(inflated) as unknown[])),
    { encoding: 'gzip', contentType: 'application/x-ndjson' })
  expectError(t, ndjsonBomb, 413, 'payload_too_large')
  t.equal(await countLogs(app), 0)

  const modest = await postLogs(app, key.apiKey, gzipSync(bodyOfSize(4 * MIB, 70)), { encoding: 'gzip' })
  t.equal(modest.statusCode, 201, 'a compressed body within the limit once inflated is accepted')
  t.equal(await countLogs(app), 70)
})

void t.test('MAX_BATCH_ENTRIES and MAX_BODY_BYTES override the limits', async (t) => {
  const { app } = await buildTestApp(t, { MAX_BATCH_ENTRIES: '3', MAX_BODY_BYTES: '4096' })
  const key = await issueKey(app, 'acme')

  const four = await postLogs(app, key.apiKey, entries(4))
  const tooMany = expectError(t, four, 413, 'too_many_entries')
  t.match(tooMany.message, /\b3\b/, 'the message states the configured limit')
  t.notMatch(tooMany.message, /1,?000/)
  const three = await postLogs(app, key.apiKey, entries(3))
  t.equal(three.statusCode, 201)
  t.equal(three.json<BatchResultBody>().accepted, 3)

  const big = JSON.stringify(entry({ message: 'x'.repeat(5000) }))
  const tooLarge = expectError(t, await postLogs(app, key.apiKey, big), 413, 'payload_too_large')
  t.match(tooLarge.message, /4 KiB|4,?096/, 'the message states the configured limit')
  expectError(t, await postLogs(app, key.apiKey, gzipSync(big), { encoding: 'gzip' }), 413, 'payload_too_large')

  const small = JSON.stringify(entry({ message: 'x'.repeat(3000) }))
  t.ok(Buffer.byteLength(small) < 4096)
  t.equal((await postLogs(app, key.apiKey, small)).statusCode, 201, 'a body under the configured limit is accepted')
  t.equal(await countLogs(app), 4)
})
