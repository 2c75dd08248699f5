// Group commit: requests that arrive while writes are in flight are written
// together, and each still gets its own answer. To hold writes in flight the
// tests keep a transaction open on a row with an event_id: a request with the
// same event_id waits for it (ON CONFLICT waits for the other transaction),
// deterministically, until the test commits it.
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { sql } from 'kysely'
import pg from 'pg'
import t, { type Test } from 'tap'
import type { BatchResultBody, StoredLogBody } from '../../src/logs/schemas.ts'
import { buildTestApp, countLogs, entry, expectError, issueKey, postLogs, type IssuedKey, testDatabaseUrl } from '../helper.ts'
import { arrayLiteral } from '../../src/db/array-literal.ts'

/** A transaction holding an uncommitted log with this event_id, until `commit`. */
async function holdEventId (t: Test, databaseUrl: string, key: IssuedKey, eventId: string): Promise<{ commit: () => Promise<void> }> {
  const client = new pg.Client({ connectionString: databaseUrl, application_name: 'test holder' })
  await client.connect()
  t.teardown(async () => { await client.end() })
  await client.query('begin')
  await client.query(`insert into logs (client_id, key_id, id, event_id, environment, executed_at, status, level)
    values ($1, $2, gen_random_uuid(), $3, 'production', now(), 'SUCCESS', 'info')`, [key.clientId, key.keyId, eventId])
  return { commit: async () => { await client.query('commit') } }
}

/** Waits until this many of the service's statements wait on a lock. */
async function statementsWaiting (app: FastifyInstance, count: number): Promise<void> {
  for (;;) {
    const { rows } = await sql<{ n: number }>`select count(*) as n from pg_stat_activity
      where wait_event_type = 'Lock' and application_name = 'central-logger'`.execute(app.db)
    if (Number(rows[0]!.n) >= count) return
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

async function until (condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5))
}

/** A write in flight waits on the held event_id: small requests that arrive now are queued behind it. */
async function occupyWrites (app: FastifyInstance, apiKey: string): Promise<Array<Promise<LightMyRequestResponse>>> {
  const blocked = [postLogs(app, apiKey, entry({ event_id: 'held' }))]
  await statementsWaiting(app, 1)
  return blocked
}

void t.test('requests queued behind writes in flight share one statement; the same event_id is stored once, the first wins', async (t) => {
  const { app, databaseUrl } = await buildTestApp(t)
  const key = await issueKey(app, 'acme')
  const holder = await holdEventId(t, databaseUrl, key, 'held')
  const blocked = await occupyWrites(app, key.apiKey)

  const groupsBefore = app.logWriter.stats.groups
  const first = postLogs(app, key.apiKey, entry({ event_id: 'same', message: 'first' }))
  await until(() => app.logWriter.queued === 1)
  const second = postLogs(app, key.apiKey, entry({ event_id: 'same', message: 'second' }))
  await until(() => app.logWriter.queued === 2)
  const batch = postLogs(app, key.apiKey, [entry({ event_id: 'same' }), entry({ event_id: 'other' }), entry({ message: 'no event id' })])
  await until(() => app.logWriter.queued === 3)
  await holder.commit()

  for (const res of await Promise.all(blocked)) {
    t.equal(res.statusCode, 201)
    t.equal(res.headers['idempotent-replayed'], 'true', 'a request held behind the open transaction replays its row')
  }
  const [a, b, c] = await Promise.all([first, second, batch])
  t.equal(app.logWriter.stats.groups - groupsBefore, 1, 'the three queued requests were written as one group')
  t.equal(app.logWriter.stats.largestGroup, 3)

  t.equal(a.statusCode, 201)
  t.notOk(a.headers['idempotent-replayed'], 'the first request with the event_id stores it')
  const stored = a.json<StoredLogBody>()
  t.equal(stored.message, 'first')
  t.equal(b.statusCode, 201)
  t.equal(b.headers['idempotent-replayed'], 'true', 'the second, in the same statement, replays it')
  t.same(b.json<StoredLogBody>(), stored, 'with the first one\'s stored log')
  t.equal(c.statusCode, 201)
  const summary = c.json<BatchResultBody>()
  t.equal(summary.accepted, 2)
  t.equal(summary.duplicates, 1)
  t.equal(summary.ids[0], stored.id, 'the batch\'s entry with the same event_id has the first one\'s id')
  t.equal(new Set(summary.ids).size, 3)

  const rows = await app.db.selectFrom('logs').select(['id', 'message']).where('event_id', '=', 'same').execute()
  t.same(rows, [{ id: stored.id, message: 'first' }], 'one row for the event_id')
  t.equal(await countLogs(app), 4, 'held, same, other and the entry without event_id')
})

void t.test('a request whose rows fail its group is answered on its own; the others are stored', async (t) => {
  const { app, databaseUrl } = await buildTestApp(t)
  const key = await issueKey(app, 'acme')
  const doomed = await issueKey(app, 'doomed')
  const holder = await holdEventId(t, databaseUrl, key, 'held')
  const blocked = await occupyWrites(app, key.apiKey)

  const before = postLogs(app, key.apiKey, entry({ message: 'before' }))
  await until(() => app.logWriter.queued === 1)
  const failing = postLogs(app, doomed.apiKey, [entry({ message: 'of a deleted client' }), entry()])
  await until(() => app.logWriter.queued === 2)
  const after = postLogs(app, key.apiKey, [entry({ message: 'after' }), entry({ event_id: 'held' })])
  await until(() => app.logWriter.queued === 3)
  // The client is deleted while its request waits: its rows now break the group's statement (foreign key).
  await app.db.deleteFrom('clients').where('id', '=', doomed.clientId).execute()
  await holder.commit()
  await Promise.all(blocked)

  const [ok1, refused, ok2] = await Promise.all([before, failing, after])
  t.equal(ok1.statusCode, 201, 'the request before it is stored')
  expectError(t, refused, 500, 'internal_error')
  t.equal(ok2.statusCode, 201, 'the request after it is stored')
  t.same(ok2.json<BatchResultBody>().duplicates, 1, 'and still replays what was stored before')
  const messages = (await app.db.selectFrom('logs').select('message').where('message', 'is not', null).execute()).map((row) => row.message).sort()
  t.same(messages, ['after', 'before'], 'nothing of the failed request, all of the others')
})

void t.test('a write that outlasts WRITE_TIMEOUT_MS is answered 503 write_timeout, and gives its place up', async (t) => {
  const { app, databaseUrl } = await buildTestApp(t, { WRITE_TIMEOUT_MS: '300', RETRY_AFTER_SECONDS: '3' })
  const key = await issueKey(app, 'acme')
  const holder = await holdEventId(t, databaseUrl, key, 'held')
  const blocked = await occupyWrites(app, key.apiKey)
  const queued = postLogs(app, key.apiKey, entry({ event_id: 'held' }))
  await until(() => app.logWriter.queued === 1)

  for (const res of await Promise.all([...blocked, queued])) {
    const body = expectError(t, res, 503, 'write_timeout')
    t.equal(res.headers['retry-after'], '3')
    t.match(body.message, /may still be stored/)
  }
  // Both statements still wait on the lock, but their writes gave their places up: the next request is written at once.
  await until(() => app.logWriter.writing === 0)
  await statementsWaiting(app, 2)
  const meanwhile = await postLogs(app, key.apiKey, entry({ event_id: 'meanwhile' }))
  t.equal(meanwhile.statusCode, 201, 'a write that does not wait on the lock goes through')
  await holder.commit()
  await app.logWriter.drain()
  const eventIds = (await app.db.selectFrom('logs').select('event_id').execute()).map((row) => row.event_id).sort()
  t.same(eventIds, ['held', 'meanwhile'])
})

void t.test('closing the app answers every request it took before the pool closes', async (t) => {
  const { app, databaseUrl } = await buildTestApp(t)
  const key = await issueKey(app, 'acme')
  const holder = await holdEventId(t, databaseUrl, key, 'held')
  const blocked = await occupyWrites(app, key.apiKey)
  const queued = [postLogs(app, key.apiKey, entry({ message: 'queued 1' })), postLogs(app, key.apiKey, entry({ message: 'queued 2' }))]
  await until(() => app.logWriter.queued === 2)

  const drained = app.logWriter.drain()
  let done = false
  void drained.then(() => { done = true })
  await new Promise((resolve) => setTimeout(resolve, 50))
  t.notOk(done, 'the drain waits for the writes in flight and queued')
  await holder.commit()
  await drained
  for (const res of await Promise.all([...blocked, ...queued])) t.equal(res.statusCode, 201)
  t.equal(await countLogs(app), 3)
})

void t.test('a second write starts only for a full group: single entries wait for the write in flight, a full batch does not', async (t) => {
  const { app, databaseUrl } = await buildTestApp(t)
  const key = await issueKey(app, 'acme')
  const holder = await holdEventId(t, databaseUrl, key, 'held')
  const blocked = postLogs(app, key.apiKey, entry({ event_id: 'held' }))
  await statementsWaiting(app, 1)

  const single = postLogs(app, key.apiKey, entry({ message: 'single' }))
  await until(() => app.logWriter.queued === 1)
  await new Promise((resolve) => setTimeout(resolve, 50))
  t.equal(app.logWriter.queued, 1, 'a single entry waits for the write in flight, to join a larger group')

  const full = await postLogs(app, key.apiKey, Array.from({ length: 1000 }, (_, i) => entry({ message: `entry ${i}` })))
  t.equal(full.statusCode, 201, 'with a full group waiting, a second write starts while the first still waits')
  await holder.commit()
  t.equal((await blocked).statusCode, 201)
  t.equal((await single).statusCode, 201)
  t.equal(await countLogs(app), 1002)
})

// The array literals of the group insert, read back by PostgreSQL itself:
// whatever a log carries must arrive as it was sent.
const AWKWARD = [
  '', ' ', '  padded  ', 'NULL', 'null', 'a,b', '{braces}', '"quoted"', 'back\\slash', '\\"', 'trailing\\',
  'tab\there', 'new\nline', 'é, ü, 日本語, 🎉', '\'single\'', '{"json": "object", "n": [1, 2]}', 'x'.repeat(10_000)
]

void t.test('text arrays read back element for element', async (t) => {
  const client = new pg.Client({ connectionString: await testDatabaseUrl(t) })
  await client.connect()
  t.teardown(async () => { await client.end() })
  const read = async (literal: string, type: string): Promise<unknown[]> =>
    (await client.query<{ value: unknown[] }>(`select $1::${type}[] as value`, [literal])).rows[0]!.value

  t.same(await read(arrayLiteral(AWKWARD), 'text'), AWKWARD, 'quotes, backslashes, commas, braces, spaces and NULL as text')
  t.same(await read(arrayLiteral([...AWKWARD, null]), 'text'), [...AWKWARD, null], 'with a null among them')
  t.same(await read(arrayLiteral(['plain', 'words', 'only']), 'text'), ['plain', 'words', 'only'], 'the joined form')
  t.same(await read(arrayLiteral([null, null]), 'text'), [null, null], 'nulls only')
  t.same(await read(arrayLiteral([]), 'text'), [], 'empty')
  t.same(await read(arrayLiteral([0, 1.5, -3, 1e21, 123456789.125]), 'float8'), [0, 1.5, -3, 1e21, 123456789.125], 'numbers as float8')
  t.same(await read(arrayLiteral([1, null, 2147483647]), 'int4'), [1, null, 2147483647], 'numbers and null as int4')
  const attributes = ['{"a": "b\\"c", "d": "\\\\"}', null, '{}']
  t.same(await read(arrayLiteral(attributes), 'jsonb'), [{ a: 'b"c', d: '\\' }, null, {}], 'JSON text with escapes as jsonb')
})
