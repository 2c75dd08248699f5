// A database that is up but refuses writes (read-only, out of disk or memory)
// is an outage for ingest: 503 with Retry-After, which clients retry, never a
// 500. Other database errors stay what they are.
import { setTimeout as sleep } from 'node:timers/promises'
import pg from 'pg'
import t from 'tap'
import { isDatabaseUnavailable } from '../../src/db/unavailable.ts'
import { buildTestApp, countLogs, entry, expectError, issueKey, postLogs } from '../helper.ts'

function pgError (code: string): Error {
  return Object.assign(new Error(`error ${code}`), { code })
}

void t.test('which SQLSTATEs mean "retry later"', async (t) => {
  for (const code of ['25006', '53000', '53100', '53200', '53300', '53400', '57P01', '57P03', '08006']) {
    t.ok(isDatabaseUnavailable(pgError(code)), `${code}: unavailable`)
  }
  for (const code of ['23505', '42P01', '22P02', '25P02', '57014']) {
    t.notOk(isDatabaseUnavailable(pgError(code)), `${code}: not an outage`)
  }
  t.ok(isDatabaseUnavailable(new Error('wrapped', { cause: pgError('53100') })), 'found as the cause of another error')
})

void t.test('a database turned read-only: ingest answers 503 with Retry-After, reads go on, writes resume', async (t) => {
  const { app, databaseUrl, logLines } = await buildTestApp(t, { RETRY_AFTER_SECONDS: '3' })
  const key = await issueKey(app, 'acme')
  t.equal((await postLogs(app, key.apiKey, entry())).statusCode, 201, 'a write before')
  const admin = new pg.Client(databaseUrl)
  await admin.connect()
  t.teardown(async () => { await admin.end() })
  const name = admin.escapeIdentifier(new URL(databaseUrl).pathname.slice(1))
  /** New sessions get the setting; the app's open ones are ended so that its pool opens new ones. */
  const setReadOnly = async (on: boolean): Promise<void> => {
    await admin.query(on ? `alter database ${name} set default_transaction_read_only = on` : `alter database ${name} reset default_transaction_read_only`)
    await admin.query(`select pg_terminate_backend(pid) from pg_stat_activity
      where datname = current_database() and application_name like 'central-logger%' and pid <> pg_backend_pid()`)
    await sleep(100)
  }

  await setReadOnly(true)
  t.teardown(async () => { await setReadOnly(false) })
  const refused = await postLogs(app, key.apiKey, entry({ event_id: 'while-read-only' }))
  expectError(t, refused, 503, 'database_unavailable')
  t.equal(refused.headers['retry-after'], '3', 'with Retry-After')
  t.ok(logLines().some((line) => line.includes('"code":"25006"')), 'the warning names the cause')
  t.notOk(logLines().some((line) => (JSON.parse(line) as { level: number }).level >= 50), 'nothing at error level')
  t.equal((await app.inject({ method: 'GET', url: '/api/v1/logs', headers: { 'x-api-key': key.apiKey } })).statusCode, 200, 'reads are answered')

  await setReadOnly(false)
  const stored = await postLogs(app, key.apiKey, entry({ event_id: 'while-read-only' }))
  t.equal(stored.statusCode, 201, 'writes resume')
  t.equal(await countLogs(app, key.clientId), 2, 'the refused entry is stored once, by the retry')
})
