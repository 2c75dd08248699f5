// Per-request limits of POST /api/v1/logs: entries per request and body
// size counted after decompression (contract section 4), and their overrides.
import { deflateSync, gzipSync } from 'node:zlib'
import t from 'tap'
import type { BatchResultBody } from '../../src/logs/schemas.ts'
import { buildTestApp, countLogs, entry, expectError, issueKey, postLogs, callApi } from '../helper.ts'
import { setTimeout } from 'node:timers/promises'
import { sql } from 'kysely'
import { setClientLimits } from '../../src/clients/settings.ts'
import { storedBytesOf } from '../../src/logs/stored-bytes.ts'
import type { UsageReportBody } from '../../src/usage/routes.ts'

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

// The storage quota per client, and the counter of stored bytes it is measured
// against: gathered in memory and written with the usage counters, right after
// accepted, duplicate, partial and concurrent batches, and shown to the tenant
// (what is not written yet included). A client
// at or over its quota is refused with 403 before anything is stored; another
// client is not.
// entry() stores "production", "SUCCESS" and the default level "info": 21 bytes.
const BASE = 21

void t.test('the stored bytes after accepted, duplicate, partially rejected, invalid and concurrent batches', async (t) => {
  const { app } = await buildTestApp(t)
  const acme = await issueKey(app, 'acme', { scopes: ['logs:write', 'logs:read', 'keys:manage'] })
  const globex = await issueKey(app, 'globex')
  let expected = 0
  const stored = async (): Promise<number> => {
    await app.usage.flush()
    return await storedBytesOf(app.db, { id: acme.clientId })
  }

  const first = [entry({ event_id: 'e1', message: 'a'.repeat(100) }), entry({ attributes: { k: 'v' } })]
  t.equal((await postLogs(app, acme.apiKey, first)).statusCode, 201)
  expected += (BASE + 2 + 100) + (BASE + '{"k":"v"}'.length)
  t.equal(await stored(), expected, 'text fields and attributes, as stored')

  const replay = await postLogs(app, acme.apiKey, first[0])
  t.equal(replay.headers['idempotent-replayed'], 'true')
  t.equal(await stored(), expected, 'a replayed entry stores nothing new')
  t.match((await postLogs(app, acme.apiKey, [first[0], entry({ event_id: 'e2' }), entry({ event_id: 'e2' })])).json(),
    { accepted: 1, duplicates: 2 })
  expected += BASE + 2
  t.equal(await stored(), expected, 'of a batch with duplicates, only the entry stored counts')

  const partial = await postLogs(app, acme.apiKey, [entry({ message: 'ünï' }), { environment: 'x' }], { query: '?partial=true' })
  t.match(partial.json(), { accepted: 1, rejected: [{ index: 1 }] })
  expected += BASE + Buffer.byteLength('ünï')
  t.equal(await stored(), expected, 'of a partial batch, the valid entry counts, in UTF-8 bytes')
  expectError(t, await postLogs(app, acme.apiKey, [entry(), { environment: 'x' }]), 400, 'invalid_entries')
  t.equal(await stored(), expected, 'an atomic batch refused stores nothing')

  const concurrent = await Promise.all(Array.from({ length: 8 }, async (_, i) => await postLogs(app, acme.apiKey, [entry({ step: `s${i}` })])))
  t.same(concurrent.map((res) => res.statusCode), Array(8).fill(201))
  expected += 8 * (BASE + 2)
  t.equal(await stored(), expected, 'concurrent writes all count, whatever rows they counted in')
  t.equal((await postLogs(app, globex.apiKey, entry())).statusCode, 201)
  t.equal(app.usage.pendingStoredBytes(globex.clientId), BASE, 'each client counts its own, in memory until written')
  await app.usage.flush()
  t.equal(await storedBytesOf(app.db, { id: globex.clientId }), BASE, 'and then in the database')

  const recount = await sql<{ bytes: number }>`select sum(log_counted_bytes(logs))::bigint as bytes from logs where client_id = ${acme.clientId}`.execute(app.db)
  t.equal(recount.rows[0]?.bytes, expected, 'the counter agrees with a recount of the logs (what deleting them will subtract)')
  await sql`update logs set size_bytes = null where client_id = ${acme.clientId} and attributes is null`.execute(app.db)
  const legacy = await sql<{ bytes: number }>`select sum(log_counted_bytes(logs))::bigint as bytes from logs where client_id = ${acme.clientId}`.execute(app.db)
  t.equal(legacy.rows[0]?.bytes, expected, 'logs stored before their size was kept count the same')

  const usage = await callApi(app, acme.apiKey, 'GET', '/api/v1/usage')
  t.same(usage.json<UsageReportBody>().storage, { stored_bytes: expected, quota_bytes: null }, 'the tenant sees what it stores')
})

void t.test('a client at or over its storage quota is refused with 403 before anything is stored; another client is not', async (t) => {
  const { app } = await buildTestApp(t, { STORAGE_QUOTA_BYTES: '100' })
  const acme = await issueKey(app, 'acme', { scopes: ['logs:write', 'logs:read', 'keys:manage'] })
  const globex = await issueKey(app, 'globex')

  t.equal((await postLogs(app, acme.apiKey, entry({ message: 'x'.repeat(150 - BASE) }))).statusCode, 201, 'under the quota, a request may cross it')
  const refused = expectError(t, await postLogs(app, acme.apiKey, entry()), 403, 'storage_quota_exceeded')
  t.same(refused.details, { quota_bytes: 100, stored_bytes: 150 })
  t.match(refused.message, /retrying will not help/)
  t.equal(refused.statusCode, 403, 'not 429: a shipper would retry that without end, and a full quota does not free itself')
  t.equal(await countLogs(app, acme.clientId), 1, 'nothing more was stored')
  t.same((await callApi(app, acme.apiKey, 'GET', '/api/v1/usage')).json<UsageReportBody>().storage, { stored_bytes: 150, quota_bytes: 100 })

  t.equal((await postLogs(app, globex.apiKey, entry())).statusCode, 201, 'globex, under the same quota, stores on')
  await setClientLimits(app.db, globex.clientId, { storageQuotaBytes: BASE }, { actor: 'cli:test' })
  await setClientLimits(app.db, acme.clientId, { storageQuotaBytes: 0 }, { actor: 'cli:test' })
  // The instance that changes nothing here hears of the change by notification: wait for it.
  let status = 0
  for (let i = 0; i < 50 && status !== 201; i++) {
    await setTimeout(20)
    status = (await postLogs(app, acme.apiKey, entry())).statusCode
  }
  t.equal(status, 201, 'acme, given no quota of its own, stores again')
  expectError(t, await postLogs(app, globex.apiKey, entry()), 403, 'storage_quota_exceeded')
})
