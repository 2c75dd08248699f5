// The text-search index's pending list is merged off the write path: by
// mergePendingEntries, one process at a time, and by the service on a timer
// while it writes. A search finds a log before and after its entries merge.
import { setTimeout as sleep } from 'node:timers/promises'
import { sql } from 'kysely'
import t from 'tap'
import { mergePendingEntries, SEARCH_INDEX } from '../../src/search/pending-entries.ts'
import { connect } from '../../src/db/connect.ts'
import { buildTestApp, callApi, entry, issueKey, postLogs } from '../helper.ts'

const TIMEOUT_MS = 10_000

function batch (size: number, word: string): Array<Record<string, unknown>> {
  return Array.from({ length: size }, (_, i) => entry({ message: `step ${i} of the ${word} run`, event_id: `${word}-${i}` }))
}

async function until (what: string, done: () => boolean): Promise<void> {
  const deadline = Date.now() + TIMEOUT_MS
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${TIMEOUT_MS} ms`)
    await sleep(10)
  }
}

void t.test('a merge moves what was written into the index, and a search finds it before and after', async (t) => {
  const { app } = await buildTestApp(t, { SEARCH_INDEX_MERGE_MS: '0' })
  const { apiKey } = await issueKey(app, 'acme')
  t.equal((await postLogs(app, apiKey, batch(200, 'nightly'))).statusCode, 201)
  const found = async (): Promise<number> => (await callApi(app, apiKey, 'GET', '/api/v1/logs?q=NIGHTLY&limit=1000')).json<{ data: unknown[] }>().data.length

  t.equal(await found(), 200, 'found while pending')
  const merged = await mergePendingEntries(app.db)
  t.ok(merged !== undefined && merged > 0, `pages of the pending list merged: ${merged}`)
  t.equal(await mergePendingEntries(app.db), 0, 'nothing left to merge')
  t.equal(await found(), 200, 'found once merged')
})

void t.test('a merge under way elsewhere is not waited for: this one is skipped', async (t) => {
  const { app, databaseUrl } = await buildTestApp(t, { SEARCH_INDEX_MERGE_MS: '0' })
  const { apiKey } = await issueKey(app, 'acme')
  t.equal((await postLogs(app, apiKey, batch(50, 'hourly'))).statusCode, 201)

  const other = connect(databaseUrl, { poolMax: 1 })
  t.teardown(async () => { await other.destroy() })
  await other.connection().execute(async (session) => {
    await sql`begin`.execute(session)
    await sql`select pg_advisory_xact_lock(hashtext('central-logger search index merge'))`.execute(session)
    t.equal(await mergePendingEntries(app.db), undefined, 'skipped while the other holds the lock')
    await sql`commit`.execute(session)
  })
  t.ok((await mergePendingEntries(app.db) ?? 0) > 0, 'the entries were still pending, and merge once the other is done')
})

void t.test('the service merges what it wrote on its own, off the write path', async (t) => {
  const { app } = await buildTestApp(t, { SEARCH_INDEX_MERGE_MS: '20' })
  const { apiKey } = await issueKey(app, 'acme')
  for (const word of ['first', 'second', 'third']) {
    t.equal((await postLogs(app, apiKey, batch(100, word))).statusCode, 201)
  }
  t.equal(app.logWriter.stats.rowsWritten, 300)
  await until('the written rows merged', () => app.searchIndexUpkeep.rowsMerged === 300)
  t.equal(await mergePendingEntries(app.db), 0, 'the service had merged every pending entry')

  // Written again: merged again.
  t.equal((await postLogs(app, apiKey, batch(10, 'fourth'))).statusCode, 201)
  await until('the new rows merged', () => app.searchIndexUpkeep.rowsMerged === 310)
  t.equal(await mergePendingEntries(app.db), 0)
})

void t.test('a merge that fails stops no write, is reported once, and is retried less often', async (t) => {
  const { app, logLines } = await buildTestApp(t, { SEARCH_INDEX_MERGE_MS: '20' })
  const { apiKey } = await issueKey(app, 'acme')
  await sql`alter index ${sql.id(SEARCH_INDEX)} rename to search_index_elsewhere`.execute(app.db)
  const warnings = (): string[] => logLines().filter((line) => line.includes('text-search index'))

  t.equal((await postLogs(app, apiKey, batch(20, 'daily'))).statusCode, 201)
  await until('the failure reported', () => warnings().length > 0)
  t.match(JSON.parse(warnings()[0]!), { level: 40, err: { message: new RegExp(SEARCH_INDEX) } })
  // Tried again at 40, 80, 160… ms: still failing, and not reported again.
  await sleep(400)
  t.equal((await postLogs(app, apiKey, batch(20, 'weekly'))).statusCode, 201, 'writes go on')
  t.equal(warnings().length, 1)
  t.equal(app.searchIndexUpkeep.rowsMerged, 0)

  // Back under its name: merged at the next try (within a few hundred ms of backoff).
  await sql`alter index search_index_elsewhere rename to ${sql.id(SEARCH_INDEX)}`.execute(app.db)
  await until('merged once the index is back', () => app.searchIndexUpkeep.rowsMerged === 40)
  t.equal(await mergePendingEntries(app.db), 0)
})
