// DATABASE_READ_URL on a real streaming replica: a hot standby of a primary of
// the test's own (two embedded PostgreSQL servers), whose replay the test
// pauses to make it lag. A page after a cursor is read on the replica only
// when the replica has replayed everything the cursor's page saw, and on the
// primary otherwise: none skipped, none twice; a tail's resume sends what the
// replica has not replayed; a log just stored is found by id.
import { execFile } from 'node:child_process'
import { chmod, chown, mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { promisify } from 'node:util'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import type pg from 'pg'
import t from 'tap'
import { onDatabase } from '../../scripts/lib/server-databases.ts'
import { openEmbeddedPostgres, type EmbeddedDatabase } from '../../src/db/embedded.ts'
import type { BatchResultBody, LogPageBody } from '../../src/logs/schemas.ts'
import { buildTestApp, callApi, entry, issueKey, loopbackPort, postLogs } from '../helper.ts'
import { openTail } from '../tail/sse-reader.ts'

const execFileAsync = promisify(execFile)

t.setTimeout(180_000)

interface Pair { primary: EmbeddedDatabase, standby: EmbeddedDatabase }

/**
 * A primary and its hot standby: the cluster made and stopped, its files
 * copied (ownership kept: as root, each server runs as its directory's
 * owner), the copy told to follow the primary, both started.
 */
async function primaryAndStandby (root: string): Promise<Pair> {
  const primaryDir = path.join(root, 'primary')
  const standbyDir = path.join(root, 'standby')
  await (await openEmbeddedPostgres({ dataDir: primaryDir, port: 0 })).stop()
  await mkdir(standbyDir, { mode: 0o755 })
  await execFileAsync('cp', ['-a', path.join(primaryDir, 'postgres'), path.join(standbyDir, 'postgres')])
  const primary = await openEmbeddedPostgres({ dataDir: primaryDir, port: 0 })
  const { port, username, password } = new URL(primary.url)
  const cluster = path.join(standbyDir, 'postgres')
  const owner = await stat(cluster)
  for (const [file, text] of [
    ['standby.signal', ''],
    ['postgresql.auto.conf', `primary_conninfo = 'host=127.0.0.1 port=${port} user=${username} password=${password}'\n`]
  ] as const) {
    await writeFile(path.join(cluster, file), text, { flag: file === 'standby.signal' ? 'w' : 'a' })
    await chown(path.join(cluster, file), owner.uid, owner.gid)
  }
  try {
    return { primary, standby: await openEmbeddedPostgres({ dataDir: standbyDir, port: 0 }) }
  } catch (error) {
    await primary.stop()
    throw error
  }
}

async function query<R extends pg.QueryResultRow> (url: string, text: string): Promise<R[]> {
  return await onDatabase(url, async (client) => (await client.query<R>(text)).rows)
}

/** Waits until the standby has replayed everything the primary has written by now. */
async function caughtUp (pair: Pair): Promise<void> {
  const [now] = await query<{ lsn: string }>(pair.primary.url, 'select pg_current_wal_insert_lsn()::text as lsn')
  for (let tries = 0; tries < 200; tries++) {
    const [state] = await query<{ done: boolean }>(pair.standby.url, `select pg_last_wal_replay_lsn() >= '${now!.lsn}'::pg_lsn as done`)
    if (state?.done === true) return
    await sleep(50)
  }
  throw new Error('the standby did not catch up within 10 s')
}

async function post (app: FastifyInstance, apiKey: string, entries: Array<Record<string, unknown>>): Promise<string[]> {
  const res = await postLogs(app, apiKey, entries)
  if (res.statusCode !== 201) throw new Error(`ingest answered ${res.statusCode}: ${res.body}`)
  return res.json<BatchResultBody>().ids as string[]
}

async function page (app: FastifyInstance, apiKey: string, cursor: string | null): Promise<{ ids: string[], next: string | null }> {
  const res: LightMyRequestResponse = await app.inject({
    method: 'GET',
    url: `/api/v1/logs?limit=5${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`,
    headers: { 'x-api-key': apiKey }
  })
  if (res.statusCode !== 200) throw new Error(`the listing answered ${res.statusCode}: ${res.body}`)
  const body = res.json<LogPageBody>()
  return { ids: body.data.map((log) => log.id), next: body.next_cursor }
}

/** The rest of a listing from `cursor` on, every page asked of `app`. */
async function rest (app: FastifyInstance, apiKey: string, cursor: string | null): Promise<string[]> {
  const ids: string[] = []
  for (let pages = 0; pages < 100; pages++) {
    const next = await page(app, apiKey, cursor)
    ids.push(...next.ids)
    if (next.next === null) return ids
    cursor = next.next
  }
  throw new Error('the listing did not end after 100 pages')
}

function at (minutes: number): string {
  return new Date(Date.UTC(2026, 10, 20, 10, 0) + minutes * 60_000).toISOString()
}

void t.test('on a streaming replica that lags, a cursor read skips nothing and repeats nothing', async (t) => {
  const root = await mkdtemp(path.join(tmpdir(), 'central-logger-standby-'))
  await chmod(root, 0o755)
  const pair = await primaryAndStandby(root)
  t.teardown(async () => {
    await pair.standby.stop()
    await pair.primary.stop()
    await rm(root, { recursive: true, force: true })
  })
  // One instance reads the primary alone, the other the standby; the second is built once the schema has reached the standby.
  const alone = await buildTestApp(t, { DATABASE_URL: pair.primary.url })
  await caughtUp(pair)
  const { app } = await buildTestApp(t, { DATABASE_URL: pair.primary.url, DATABASE_READ_URL: pair.standby.url })
  const base = `http://127.0.0.1:${await loopbackPort(app)}`
  const { apiKey } = await issueKey(app, 'acme')
  const onTime = await post(app, apiKey, Array.from({ length: 20 }, (_, i) => entry({ executed_at: at(4 * i), message: `on time ${i}` })))
  await caughtUp(pair)
  await query(pair.standby.url, 'select pg_wal_replay_pause()')
  // Stored while the standby replays nothing: only the primary has them, between the others in time.
  const late = await post(app, apiKey, Array.from({ length: 20 }, (_, i) => entry({ executed_at: at(4 * i + 1), message: `late ${i}` })))
  await sleep(200)
  const [held] = await query<{ n: string }>(pair.standby.url, 'select count(*) as n from logs')
  t.equal(Number(held!.n), 20, 'the standby lags: it holds none of the late logs')
  const everything = await rest(alone.app, apiKey, null)
  t.equal(everything.length, 40)

  // Wholly on the instance of the standby: the standby's own view, consistent from page to page.
  t.same(await rest(app, apiKey, null), everything.filter((id) => onTime.includes(id)), 'the standby\'s logs, each once, in order')

  // Begun on the primary: every later page is read where the late logs are.
  const first = await page(alone.app, apiKey, null)
  const second = await page(app, apiKey, first.next)
  const afterSecond = await rest(app, apiKey, second.next)
  t.same([...first.ids, ...second.ids, ...afterSecond], everything, 'none skipped, none twice')

  // The standby catches up past what the second page saw, then lags again behind newer logs.
  await query(pair.standby.url, 'select pg_wal_replay_resume()')
  await caughtUp(pair)
  await query(pair.standby.url, 'select pg_wal_replay_pause()')
  const newer = await post(app, apiKey, Array.from({ length: 20 }, (_, i) => entry({ executed_at: at(4 * i + 2), message: `newer ${i}` })))
  // Now read on the standby (it lacks the newer logs), and still whole for what the second page saw.
  const fromStandby = await rest(app, apiKey, second.next)
  t.same(fromStandby, afterSecond, 'read on the standby once it holds what the page before saw: the late logs, not the newer ones')

  // A tail resumed from the first log: the logs the standby has not replayed are sent too.
  const reader = await openTail(base, apiKey, '', { 'last-event-id': onTime[0]! })
  t.teardown(() => { reader.close() })
  const resumed = await reader.waitForEvents(59, 5000)
  t.same(resumed.map((event) => event.id), [...onTime.slice(1), ...late, ...newer], 'every log after the last one received, in id order')

  const fresh = await callApi(app, apiKey, 'GET', `/api/v1/logs/${newer[0]!}`)
  t.equal(fresh.statusCode, 200, 'a log the standby has not replayed is found by id')
  await query(pair.standby.url, 'select pg_wal_replay_resume()')
})
