// The batched writers of usage and the audit trail when things go wrong: a
// flood of distinct failures, and a database that refuses a write (they keep
// what they hold, warn, and write it at the next flush, without counting
// anything twice).
import { randomUUID } from 'node:crypto'
import { Writable } from 'node:stream'
import { sql, type Kysely } from 'kysely'
import pino from 'pino'
import t from 'tap'
import type { Test } from 'tap'
import { AuditRecorder, MAX_ANONYMOUS_ROWS, MAX_CLIENT_ROWS, MAX_ROWS_PER_CLIENT } from '../src/audit/recorder.ts'
import { connect } from '../src/db/connect.ts'
import { migrateToLatest } from '../src/db/migrate.ts'
import type { Database } from '../src/db/schema.ts'
import { findOrCreateClient } from '../src/clients/store.ts'
import { UsageRecorder } from '../src/usage/recorder.ts'
import { testDatabaseUrl } from './helper.ts'

// Long enough that only the test's own flush() calls write.
const NEVER_MS = 3_600_000

async function setUp (t: Test): Promise<{ db: Kysely<Database>, warnings: () => string[], log: pino.Logger }> {
  const db = connect(await testDatabaseUrl(t))
  await migrateToLatest(db)
  t.teardown(async () => { await db.destroy() })
  const lines: string[] = []
  const log = pino({ level: 'warn' }, new Writable({
    write (chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString())
      done()
    }
  }))
  return { db, log, warnings: () => lines.map((line) => (JSON.parse(line) as { msg: string }).msg) }
}

/** Makes every insert into the table fail until the returned function is called. */
async function refuseInserts (db: Kysely<Database>, table: string): Promise<() => Promise<void>> {
  await sql`CREATE FUNCTION refuse_insert() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused'; END $$`.execute(db)
  await sql`CREATE TRIGGER refuse BEFORE INSERT ON ${sql.table(table)} FOR EACH ROW EXECUTE FUNCTION refuse_insert()`.execute(db)
  return async () => {
    await sql`DROP TRIGGER refuse ON ${sql.table(table)}`.execute(db)
    await sql`DROP FUNCTION refuse_insert()`.execute(db)
  }
}

const KEY_ID = '5d1f2a3b-4c5d-4e6f-8a7b-9c0d1e2f3a4b'
const OTHER_KEY_ID = '6e2f3a4b-5c6d-4f7a-8b9c-0d1e2f3a4b5c'
const failure = (address: string) => ({ event: 'auth.failed' as const, clientId: null, actor: 'service', address, reason: 'invalid_api_key' })

void t.test('a flood of distinct failures is capped: the rest are summed into one row', async (t) => {
  const { db, log } = await setUp(t)
  const audit = new AuditRecorder(db, log, NEVER_MS)
  for (let i = 0; i < 1500; i++) audit.record(failure(`10.0.${Math.floor(i / 250)}.${i % 250}`))
  audit.record(failure('10.0.0.0'))
  await audit.close()
  const rows = await db.selectFrom('audit_events').select(['reason', 'details', 'address']).execute()
  t.equal(rows.length, 1001, '1,000 distinct rows and one overflow row')
  const overflow = rows.filter((row) => row.reason === 'too_many_distinct_failures')
  t.equal(overflow.length, 1)
  t.equal(overflow[0]?.details?.count, 500, 'the overflow row counts what was left out')
  const repeated = rows.find((row) => row.address === '10.0.0.0')
  t.equal(repeated?.details?.count, 2, 'a repeated failure is one row with its count')
})

const refusal = (clientId: string, address: string, keyId = KEY_ID) => ({
  event: 'auth.failed' as const, clientId, keyId, keyPrefix: 'clk_AbCdEfGh', actor: 'service', address, reason: 'address_not_allowed'
})

interface Row { client_id: string | null, key_id: string | null, address: string | null, reason: string | null, details: Record<string, unknown> | null }

async function rowsOf (db: Kysely<Database>): Promise<Row[]> {
  return await db.selectFrom('audit_events').select(['client_id', 'key_id', 'address', 'reason', 'details']).orderBy('id').execute()
}

/** How many failures the rows count: a row its count (1 when absent), an overflow row its sum. */
const counted = (rows: Row[]): number => rows.reduce((sum, row) => sum + Number(row.details?.count ?? 1), 0)

void t.test('a client\'s failures have their own cap, and past it an overflow row of their own, never the anonymous one', async (t) => {
  const { db, log } = await setUp(t)
  const audit = new AuditRecorder(db, log, NEVER_MS)
  const [victim, busy] = [randomUUID(), randomUUID()]
  for (let i = 0; i < 1500; i++) audit.record(failure(`10.0.${i >> 8}.${i & 255}`))
  for (let i = 0; i < 20; i++) audit.record(refusal(victim, `203.0.113.${i}`))
  for (let i = 0; i < 150; i++) audit.record(refusal(busy, `198.51.100.${i}`, i % 2 === 0 ? KEY_ID : OTHER_KEY_ID))
  await audit.close()

  const rows = await rowsOf(db)
  const anonymous = rows.filter((row) => row.client_id === null)
  t.equal(anonymous.length, MAX_ANONYMOUS_ROWS + 1, 'failures nobody owns: 1,000 rows and their overflow row')
  t.equal(counted(anonymous), 1500)
  const victims = rows.filter((row) => row.client_id === victim)
  t.equal(victims.length, 20, 'each of the client\'s 20 refusals is a row of its own')
  t.same(victims.map((row) => row.address).sort(), Array.from({ length: 20 }, (_, i) => `203.0.113.${i}`).sort())
  const busies = rows.filter((row) => row.client_id === busy)
  t.equal(busies.length, MAX_ROWS_PER_CLIENT + 1, 'a client past its cap: 100 rows and an overflow row')
  t.equal(counted(busies), 150, 'its counts add up')
  const overflow = busies.find((row) => row.reason === 'too_many_distinct_failures')
  t.match(overflow, { key_id: null, address: null, details: { count: 50, reasons: { address_not_allowed: 50 }, note: /this client's keys/ } },
    'the overflow row carries the client, and sums the reasons; two keys, so it names neither')
  t.equal(rows.length, anonymous.length + victims.length + busies.length, 'nothing else')
})

void t.test('over all clients at most 10,000 rows an interval: past it each client\'s failures go to its own overflow row', async (t) => {
  const { db, log } = await setUp(t)
  const audit = new AuditRecorder(db, log, NEVER_MS)
  const clients = Array.from({ length: MAX_CLIENT_ROWS / MAX_ROWS_PER_CLIENT + 1 }, () => randomUUID())
  for (const client of clients) {
    for (let i = 0; i < MAX_ROWS_PER_CLIENT; i++) audit.record(refusal(client, `10.1.${i >> 8}.${i & 255}`))
  }
  await audit.close()
  const rows = await rowsOf(db)
  t.equal(rows.length, MAX_CLIENT_ROWS + 1, '10,000 rows, written in several statements, and one overflow row')
  const last = rows.filter((row) => row.client_id === clients.at(-1))
  t.same(last.map((row) => [row.reason, row.key_id, row.details?.count]), [['too_many_distinct_failures', KEY_ID, MAX_ROWS_PER_CLIENT]],
    'the last client\'s failures are summed in its own row, naming the one key they all used')
  t.equal(counted(rows), clients.length * MAX_ROWS_PER_CLIENT, 'every failure is counted once')
})

void t.test('a client\'s failures kept after a refused write stay within its cap, added to the next ones, never doubled', async (t) => {
  const { db, log, warnings } = await setUp(t)
  const audit = new AuditRecorder(db, log, NEVER_MS)
  const client = randomUUID()
  for (let i = 0; i < 120; i++) audit.record(refusal(client, `203.0.113.${i}`))
  for (let i = 0; i < 5; i++) audit.record(failure('192.0.2.1'))
  const allow = await refuseInserts(db, 'audit_events')
  await audit.flush()
  t.match(warnings(), ['could not write audit events; will retry'])
  // Meanwhile: the same addresses again, and new ones, which find the client's rows taken.
  for (let i = 0; i < 10; i++) audit.record(refusal(client, `203.0.113.${i}`))
  for (let i = 0; i < 40; i++) audit.record(refusal(client, `198.51.100.${i}`))
  await allow()
  await audit.flush()
  const rows = (await rowsOf(db)).filter((row) => row.client_id === client)
  t.equal(rows.length, MAX_ROWS_PER_CLIENT + 1, 'still 100 rows and one overflow row')
  t.equal(counted(rows), 170, 'every failure once')
  t.match(rows.find((row) => row.address === '203.0.113.0')?.details, { count: 2 }, 'a kept row adds the failures like it that came meanwhile')
  t.match(rows.find((row) => row.reason === 'too_many_distinct_failures'), { key_id: KEY_ID, details: { count: 60, reasons: { address_not_allowed: 60 } } })
  t.equal(counted((await rowsOf(db)).filter((row) => row.client_id === null)), 5, 'the anonymous failures too')
  await audit.flush()
  t.equal((await rowsOf(db)).length, MAX_ROWS_PER_CLIENT + 2, 'an empty flush writes nothing')
})

void t.test('a batch written in several statements is written whole or not at all', async (t) => {
  const { db, log, warnings } = await setUp(t)
  const audit = new AuditRecorder(db, log, NEVER_MS)
  for (let i = 0; i < 1200; i++) audit.record(failure(`10.2.${i >> 8}.${i & 255}`))
  // The overflow row comes last, in the second statement: refuse it alone.
  await sql`CREATE FUNCTION refuse_overflow() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN IF NEW.reason = 'too_many_distinct_failures' THEN RAISE EXCEPTION 'refused'; END IF; RETURN NEW; END $$`.execute(db)
  await sql`CREATE TRIGGER refuse_overflow BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION refuse_overflow()`.execute(db)
  await audit.flush()
  t.match(warnings(), ['could not write audit events; will retry'])
  t.equal((await rowsOf(db)).length, 0, 'the first statement\'s rows were not kept either')
  await sql`DROP TRIGGER refuse_overflow ON audit_events`.execute(db)
  await audit.close()
  const rows = await rowsOf(db)
  t.equal(rows.length, MAX_ANONYMOUS_ROWS + 1, 'then written once')
  t.equal(counted(rows), 1200)
})

void t.test('audit events survive a refused write and land at the next flush', async (t) => {
  const { db, log, warnings } = await setUp(t)
  const audit = new AuditRecorder(db, log, NEVER_MS)
  audit.record(failure('192.0.2.1'))
  audit.record(failure('192.0.2.1'))
  const allow = await refuseInserts(db, 'audit_events')
  await audit.flush()
  t.match(warnings(), ['could not write audit events; will retry'])
  audit.record(failure('192.0.2.1'))
  audit.record(failure('192.0.2.2'))
  await allow()
  await audit.flush()
  const rows = await db.selectFrom('audit_events').select(['address', 'details']).orderBy('address').execute()
  t.same(rows.map((row) => [row.address, row.details?.count ?? 1]), [['192.0.2.1', 3], ['192.0.2.2', 1]], 'nothing lost, nothing doubled')
  await audit.flush()
  t.equal((await db.selectFrom('audit_events').select('id').execute()).length, 2, 'an empty flush writes nothing')
  await audit.close()
})

void t.test('usage counts and key uses survive a refused write, added to what came meanwhile', async (t) => {
  const { db, log, warnings } = await setUp(t)
  const { client } = await findOrCreateClient(db, 'acme')
  const usage = new UsageRecorder(db, log, NEVER_MS)
  usage.count(client.id, { requests: 2, logs_accepted: 10 })
  const allow = await refuseInserts(db, 'usage_daily')
  await usage.flush()
  t.match(warnings(), ['could not record usage; will retry'])
  t.equal(usage.pending(client.id).size, 1, 'the counts are still held')
  usage.count(client.id, { requests: 1, logs_rejected: 4 })
  await allow()
  await usage.flush()
  const [row] = await db.selectFrom('usage_daily').selectAll().execute()
  t.match(row, { requests: 3, logs_accepted: 10, logs_rejected: 4 }, 'the refused counts plus the new ones, once')
  t.equal(usage.pending(client.id).size, 0)

  // A key use that cannot be written (a key id the database rejects as a whole batch) is kept for later.
  await sql`ALTER TABLE api_keys ADD CONSTRAINT no_use CHECK (last_used_at IS NULL)`.execute(db)
  const key = await db.insertInto('api_keys').values({
    client_id: client.id, prefix: 'clk_test', key_hash: Buffer.alloc(32), scopes: ['logs:read']
  }).returning('id').executeTakeFirstOrThrow()
  usage.recordKeyUse(key.id, '203.0.113.9')
  await usage.flush()
  t.match(warnings().at(-1), 'could not record key use; will retry')
  await sql`ALTER TABLE api_keys DROP CONSTRAINT no_use`.execute(db)
  await usage.close()
  const stored = await db.selectFrom('api_keys').select(['last_used_at', 'last_used_address']).where('id', '=', key.id).executeTakeFirstOrThrow()
  t.ok(stored.last_used_at instanceof Date, 'written once the database takes it')
  t.equal(stored.last_used_address, '203.0.113.9')
})

void t.test('a client deleted meanwhile does not block the other clients\' counts', async (t) => {
  const { db, log, warnings } = await setUp(t)
  const { client: kept } = await findOrCreateClient(db, 'kept')
  const { client: gone } = await findOrCreateClient(db, 'gone')
  const usage = new UsageRecorder(db, log, NEVER_MS)
  usage.count(kept.id, { requests: 4 })
  usage.count(gone.id, { requests: 1 })
  await db.deleteFrom('clients').where('id', '=', gone.id).execute()
  await usage.close()
  const rows = await db.selectFrom('usage_daily').select(['client_id', 'requests']).execute()
  t.same(rows, [{ client_id: kept.id, requests: 4 }], 'the remaining client\'s counts are written')
  t.same(warnings(), [], 'and nothing is left to retry forever')
})

void t.test('closing while a timed flush is under way waits for it: nothing is lost at shutdown', async (t) => {
  const url = await testDatabaseUrl(t)
  const db = connect(url)
  await migrateToLatest(db)
  const { client } = await findOrCreateClient(db, 'acme')
  const log = pino({ level: 'silent' })
  const usage = new UsageRecorder(db, log, NEVER_MS)
  const audit = new AuditRecorder(db, log, NEVER_MS)
  usage.count(client.id, { requests: 3 })
  audit.record(failure('192.0.2.1'))
  // As the timer would: a flush starts, and shutdown begins before it has written.
  void usage.flush()
  void audit.flush()
  await Promise.all([usage.close(), audit.close()])
  await db.destroy()

  const reader = connect(url)
  t.teardown(async () => { await reader.destroy() })
  const row = await reader.selectFrom('usage_daily').select('requests').where('client_id', '=', client.id).executeTakeFirst()
  t.equal(Number(row?.requests), 3, 'the usage counted before shutdown is written')
  const events = await reader.selectFrom('audit_events').select('address').where('event', '=', 'auth.failed').execute()
  t.same(events.map((event) => event.address), ['192.0.2.1'], 'and so is the audit event')
})

void t.test('counts made without a time go to the UTC day they are made in, across midnight', async (t) => {
  const { db, log } = await setUp(t)
  const usage = new UsageRecorder(db, log, NEVER_MS)
  const clientId = randomUUID()
  const realNow = Date.now
  t.teardown(() => { Date.now = realNow })
  const at = (iso: string): void => { Date.now = () => Date.parse(iso) }
  at('2026-03-01T23:59:59.999Z')
  usage.count(clientId, { requests: 1 })
  at('2026-03-02T00:00:00.000Z')
  usage.count(clientId, { requests: 2 })
  at('2026-03-01T12:00:00.000Z')
  usage.count(clientId, { requests: 4 }, new Date('2026-02-28T12:00:00Z'))
  usage.count(clientId, { requests: 8 })
  t.same([...usage.pending(clientId)].map(([day, counts]) => [day, counts.requests]),
    [['2026-03-01', 9], ['2026-03-02', 2], ['2026-02-28', 4]])
  Date.now = realNow
  await usage.close()
})
