// keys defaults: the provider sets, shows and clears a client's defaults for
// environment and status, audited, and the service's ingest uses them at once.
import t from 'tap'
import type { StoredLogBody } from '../../src/logs/schemas.ts'
import { buildTestApp, expectError, issueKey, postLogs } from '../helper.ts'
import { keys, parsed } from './run.ts'

interface Defaults { client_id: string, client_name: string, default_environment: string | null, default_status: string | null, changed: boolean }

void t.test('defaults sets, shows and clears, audited, and ingest applies them', async (t) => {
  const { app, databaseUrl } = await buildTestApp(t)
  const key = await issueKey(app, 'acme')
  expectError(t, await postLogs(app, key.apiKey, { time: 1764750000123, msg: 'before' }), 400, 'invalid_entries')

  const set = await keys(databaseUrl, ['defaults', 'acme', '--environment', 'production', '--status', 'ok', '--json'])
  t.equal(set.code, 0, set.stderr)
  t.same(parsed<Defaults>(set), { client_id: key.clientId, client_name: 'acme', default_environment: 'production', default_status: 'OK', changed: true })
  // The CLI's change reaches this instance's cache as a database notification.
  let log = await postLogs(app, key.apiKey, { time: 1764750000123, msg: 'after' })
  for (let tries = 0; log.statusCode !== 201 && tries < 50; tries++) {
    await new Promise((resolve) => setTimeout(resolve, 100))
    log = await postLogs(app, key.apiKey, { time: 1764750000123, msg: 'after' })
  }
  t.equal(log.statusCode, 201, log.body)
  t.match(log.json<StoredLogBody>(), { environment: 'production', status: 'OK' })

  const shown = await keys(databaseUrl, ['defaults', 'acme'])
  t.equal(shown.code, 0)
  t.match(shown.stdout, /environment: production\n {2}status: {6}OK/)
  const same = parsed<Defaults>(await keys(databaseUrl, ['defaults', 'acme', '--status', 'OK', '--json']))
  t.equal(same.changed, false, 'setting what is set changes nothing')

  const cleared = parsed<Defaults>(await keys(databaseUrl, ['defaults', 'acme', '--environment', 'default', '--json']))
  t.match(cleared, { default_environment: null, default_status: 'OK', changed: true })
  const events = await app.db.selectFrom('audit_events').selectAll().where('event', '=', 'client.updated').orderBy('id').execute()
  t.equal(events.length, 2, 'two changes, two events')
  t.match(events[0], { actor: /^cli:/, details: { default_environment: { from: null, to: 'production' }, default_status: { from: null, to: 'OK' } } })
  t.match(events[1], { details: { default_environment: { from: 'production', to: null } } })
})

void t.test('defaults refuses what it cannot set', async (t) => {
  const { databaseUrl } = await buildTestApp(t)
  await keys(databaseUrl, ['create', 'acme'])
  const cases: Array<[string[], number, RegExp]> = [
    [['defaults', 'nobody', '--status', 'OK'], 1, /No client named "nobody"/],
    [['defaults', 'acme', '--status', 'x'.repeat(33)], 2, /1 to 32 characters/],
    [['defaults', 'acme', '--environment', ''], 2, /1 to 64 characters/],
    [['defaults', 'acme', '--environment', 'a\u001bb'], 2, /printable/],
    [['defaults'], 2, /takes 1 argument/],
    [['defaults', 'acme', '--grace', '1h'], 2, /does not take --grace/]
  ]
  for (const [args, code, message] of cases) {
    const run = await keys(databaseUrl, [...args, '--json'])
    t.equal(run.code, code, args.join(' '))
    t.match(parsed<{ error: string }>(run).error, message)
  }
})
