// The storage quota per client, and the counter of stored bytes it is measured
// against: gathered in memory and written with the usage counters, right after
// accepted, duplicate, partial and concurrent batches, and shown to the tenant
// (what is not written yet included). A client
// at or over its quota is refused with 403 before anything is stored; another
// client is not.
import { setTimeout } from 'node:timers/promises'
import { sql } from 'kysely'
import t from 'tap'
import { setClientLimits } from '../../src/clients/settings.ts'
import { storedBytesOf } from '../../src/logs/stored-bytes.ts'
import type { UsageReportBody } from '../../src/usage/routes.ts'
import { buildTestApp, callApi, countLogs, entry, expectError, issueKey, postLogs } from '../helper.ts'

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
