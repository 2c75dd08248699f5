// The CLI's commands for what a client may do and how its logs are filled in:
// the bounds of every number it takes, byte limits and storage quota, ingest
// defaults, and signing. Each part below says what it covers.
import t from 'tap'
import { testDatabaseUrl, buildTestApp, entry, issueKey, postLogs, expectError } from '../helper.ts'
import { keys, parsed, type Created, inParallel } from './run.ts'
import type { StoredLogBody } from '../../src/logs/schemas.ts'
import { create } from '../../src/cli/commands/create.ts'
import { limit } from '../../src/cli/commands/limit.ts'
import { signing } from '../../src/cli/commands/signing.ts'
import { verifyKey } from '../../src/cli/commands/verify.ts'
import { deriveSigningSecret } from '../../src/signing/secret.ts'

// Every number the CLI takes is accepted up to the bound its message names,
// and refused one past it with that message: the bounds are values, not a
// count of digits (a 10-digit 1000000000 or 3153600000s is within them).
void t.test('each numeric option: the maximum is accepted, one more is refused with a message naming the maximum', async (t) => {
  const url = await testDatabaseUrl(t)
  const created = parsed<Created>(await keys(url, ['create', 'acme', '--ingest-limit', '1000000000', '--rate-limit', '1000000000',
    '--expires-in', '36500d', '--json']))
  t.match(created, { ingest_rate_limit: 1_000_000_000, rate_limit: 1_000_000_000 }, 'create: both limits at their maximum')

  const accepted: string[][] = [
    ['create', 'acme', '--expires-in', '3153600000s'],
    ['limit', 'acme', '1000000000'],
    ['limit', 'acme', '--requests', '1000000000', '--entries', '1000000000'],
    ['limit', 'acme', '--entries', '0001000000000'],
    ['rotate', created.key_id, '--grace', '2592000s'],
    ['list', '--older-than', '3153600000s'],
    ['usage', '--days', '366'],
    ['audit', '--limit', '10000']
  ]
  for (const args of accepted) {
    const run = await keys(url, args)
    t.equal(run.code, 0, `${args.join(' ')}: ${run.stderr}`)
  }

  const refused: Array<[string[], string]> = [
    [['create', 'acme', '--ingest-limit', '1000000001'], '--ingest-limit "1000000001" must be a whole number from 1 to 1000000000.'],
    [['create', 'acme', '--rate-limit', '99999999999999999999'], '--rate-limit "99999999999999999999" must be a whole number from 1 to 1000000000.'],
    [['create', 'acme', '--expires-in', '36501d'], '--expires-in "36501d" is longer than 36500d.'],
    [['create', 'acme', '--expires-in', '3153600001s'], '--expires-in "3153600001s" is longer than 36500d.'],
    [['limit', 'acme', '1000000001'], 'The request limit "1000000001" must be a whole number from 1 to 1000000000.'],
    [['limit', 'acme', '--entries', '1000000001'], '--entries "1000000001" must be a whole number from 1 to 1000000000.'],
    [['rotate', created.key_id, '--grace', '2592001s'], '--grace "2592001s" is longer than the 30d a grace may last.'],
    [['list', '--older-than', '3153600001s'], '--older-than "3153600001s" is longer than 36500d.'],
    [['usage', '--days', '367'], '--days "367" must be a whole number from 1 to 366.'],
    [['audit', '--limit', '10001'], '--limit "10001" must be a whole number from 1 to 10000.']
  ]
  for (const [args, message] of refused) {
    const run = await keys(url, args)
    t.same({ code: run.code, stderr: run.stderr }, { code: 2, stderr: `${message}\n` }, args.join(' '))
  }
})

// The CLI's byte limits: create and limit set a client's ingest bytes per
// minute and storage quota (in bytes or with a unit, `default`, `none`),
// refuse a bytes limit a full request could never fit, and limit, list and
// usage show the limits and the bytes the client stores.
interface Limits {
  ingest_bytes_limit: number | null
  effective_ingest_bytes_limit: number
  storage_quota_bytes: number | null
  effective_storage_quota_bytes: number | null
  stored_bytes: number
  changed: boolean
}

interface Listed {
  clients: Array<{ client_name: string, ingest_bytes_limit: number | null, storage_quota_bytes: number | null, stored_bytes: number }>
}

interface Usage {
  clients: Array<{ client_name: string, stored_bytes: number }>
}

void t.test('create and limit set the byte limits; limit, list and usage show them with the bytes stored', async (t) => {
  const { app, databaseUrl } = await buildTestApp(t, { USAGE_FLUSH_SECONDS: '300' })
  const run = async (...args: string[]) => await keys(databaseUrl, args)

  const created = await run('create', 'acme', '--ingest-bytes-limit', '64MiB', '--storage-quota', '10GB', '--json')
  t.equal(created.code, 0, created.stderr)
  const acme = parsed<Created>(created)
  t.match(acme, { ingest_bytes_limit: 64 * 2 ** 20, storage_quota_bytes: 10e9 })
  t.equal((await postLogs(app, acme.api_key, entry({ message: 'x'.repeat(79) }))).statusCode, 201, '100 bytes stored')
  await app.usage.flush()
  await app.usage.flush()

  const shown = await run('limit', 'acme', '--json')
  t.match(parsed<Limits>(shown), {
    ingest_bytes_limit: 67108864, effective_ingest_bytes_limit: 67108864, storage_quota_bytes: 10e9, effective_storage_quota_bytes: 10e9, stored_bytes: 100, changed: false
  })
  t.match((await run('limit', 'acme')).stdout, /at most 64 MiB of them per minute, across all its keys\. It stores 100 bytes of logs, with a storage quota of 10 GB\./)

  const reset = await run('limit', 'acme', '--bytes', 'default', '--storage', 'none', '--json')
  t.match(parsed<Limits>(reset), {
    ingest_bytes_limit: null, effective_ingest_bytes_limit: 64 * 2 ** 20, storage_quota_bytes: 0, effective_storage_quota_bytes: null, changed: true
  })
  const text = (await run('limit', 'acme', '--bytes', '8388608', '--storage', 'default')).stdout
  t.match(text, /at most 8 MiB of them per minute, across all its keys\. It stores 100 bytes of logs, with no storage quota \(the service's STORAGE_QUOTA_BYTES\)\. Every running instance/)
  const audit = await app.db.selectFrom('audit_events').select('details').where('event', '=', 'client.updated').orderBy('id').execute()
  t.same(audit.map((row) => row.details), [
    { ingest_bytes_limit: { from: null, to: 67108864 }, storage_quota_bytes: { from: null, to: 10e9 } },
    { ingest_bytes_limit: { from: 67108864, to: null }, storage_quota_bytes: { from: 10e9, to: 0 } },
    { ingest_bytes_limit: { from: null, to: 8388608 }, storage_quota_bytes: { from: 0, to: null } }
  ], 'each change is audited')

  await issueKey(app, 'globex')
  const listed = await run('list', '--json')
  t.match(parsed<Listed>(listed).clients, [
    { client_name: 'acme', ingest_bytes_limit: 8388608, storage_quota_bytes: null, stored_bytes: 100 },
    { client_name: 'globex', ingest_bytes_limit: null, storage_quota_bytes: null, stored_bytes: 0 }
  ])
  t.match((await run('list', '--client', 'acme')).stdout, /^acme {2}\(.*, stores 100 bytes, 8 MiB of log entries per minute\)$/m)
  t.match(parsed<Usage>(await run('usage', '--json')).clients, [{ client_name: 'acme', stored_bytes: 100 }])
  t.match((await run('usage', '--client', 'acme')).stdout, /^acme {2}\(.*, stores 100 bytes of logs now\)$/m)
})

void t.test('what the byte options refuse', async (t) => {
  const { databaseUrl } = await buildTestApp(t)
  const run = async (...args: string[]) => await keys(databaseUrl, args)
  t.equal((await run('create', 'acme')).code, 0)

  const small = await run('limit', 'acme', '--bytes', '1MiB')
  t.equal(small.code, 2)
  t.match(small.stderr, /--bytes "1MiB" must be at least MAX_BODY_BYTES, 5242880 \(5 MiB\): a request of the largest size/)
  t.equal((await keys(databaseUrl, ['limit', 'acme', '--bytes', '1MiB'], '', { MAX_BODY_BYTES: '1048576', INGEST_BYTES_LIMIT: '1048576' })).code, 0,
    'the floor is the configured MAX_BODY_BYTES')
  const zero = await run('limit', 'acme', '--storage', '0')
  t.equal(zero.code, 2)
  t.match(zero.stderr, /for no quota, write none/)
  for (const [option, value] of [['--bytes', '12XB'], ['--bytes', '5 MiB!'], ['--storage', '2PiB'], ['--storage', '1.5GB']]) {
    const refused = await run('limit', 'acme', option!, value!)
    t.equal(refused.code, 2, `${option!} ${value!} is bad usage`)
    t.match(refused.stderr, /must be a byte count from 1 to 1125899906842624 \(1024 TiB\): digits, or a whole number and a unit such as 64MiB/)
  }
  const onCreate = await run('create', 'acme', '--ingest-bytes-limit', '4096')
  t.equal(onCreate.code, 2)
  t.match(onCreate.stderr, /--ingest-bytes-limit "4096" must be at least MAX_BODY_BYTES/)
  t.match((await run('create', 'acme', '--storage-quota', 'none', '--json')).stdout, /"storage_quota_bytes": 0/)
})

// keys defaults: the provider sets, shows and clears a client's defaults for
// environment and status, audited, and the service's ingest uses them at once.
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

// The CLI's signing and limit commands: a signing secret is printed once and
// is the one the service derives, a client that signs keeps its secret for its
// other keys, rotation replaces it, and without SIGNING_KEY nothing is
// created. The command lines go through the CLI's own parsing (./run.ts);
// the rest calls the commands directly, on the same database.
const SIGNING_KEY = 'cli-test-signing-key-0123456789abcdef0123'
const PUBLIC_URL = 'http://127.0.0.1:3000'
const DEFAULTS = { rateLimit: 1200, window: '1m', ingestRateLimit: 60000, ingestBytesLimit: 64 * 1024 * 1024, storageQuotaBytes: 0, maxBodyBytes: 5 * 1024 * 1024 }

void t.test('the command lines: create --signing --ingest-limit, and what they refuse', async (t) => {
  const { app, databaseUrl } = await buildTestApp(t)
  const [created, badAction, noKey, twice] = await inParallel([
    ['create', 'acme', '--signing', '--ingest-limit', '5000', '--json'],
    ['signing', 'acme', 'maybe'],
    ['create', 'globex', '--signing'],
    ['limit', 'acme', '10', '--requests', '5']
  ], async (args) => await keys(databaseUrl, args, '', args.includes('globex') ? {} : { SIGNING_KEY }))
  t.equal(created!.code, 0, created!.stderr)
  const json = parsed<Created>(created!)
  t.equal(json.signing_secret, deriveSigningSecret(SIGNING_KEY, json.client_id, 1), 'the secret printed is the one the service derives')
  t.equal(json.ingest_rate_limit, 5000)
  t.equal(badAction!.code, 2)
  t.match(badAction!.stderr, /not one of on, rotate, off/)
  t.equal(noKey!.code, 1, 'without SIGNING_KEY no secret can be issued')
  t.match(noKey!.stderr, /SIGNING_KEY, which is not set/)
  t.equal(await app.db.selectFrom('clients').select('id').where('name', '=', 'globex').executeTakeFirst(), undefined, 'and nothing is created')
  t.equal(twice!.code, 2)
  t.match(twice!.stderr, /once/)
})

void t.test('create --signing, signing on | rotate | off, verify and limit', async (t) => {
  const { app } = await buildTestApp(t)
  const db = app.db
  const first = await create(db, { clientName: 'acme', signing: true, signingKey: SIGNING_KEY, publicUrl: PUBLIC_URL })
  const created = first.json as Created
  t.equal(created.signing_secret, deriveSigningSecret(SIGNING_KEY, created.client_id, 1))
  t.match(created.env_line, `"secret_key":"${created.signing_secret!}"`, 'the development line signs too')
  t.match(created.message, created.signing_secret!, 'the hand-over message carries it')
  t.match(first.text, /Signing: {2}cls_.*\n {10}the signing secret, shown this once only/)

  const second = await create(db, { clientName: 'acme', signing: true, signingKey: SIGNING_KEY, publicUrl: PUBLIC_URL })
  t.match(second.json, { signs: true, signing_secret: null }, 'another key of a signing client: the secret is not shown again')
  t.match(second.text, /as a development key it does not sign/)
  const on = await signing(db, 'acme', 'on', SIGNING_KEY)
  t.equal(on.exitCode, 1, 'on, for a client that signs already, is refused')
  t.match(on.text, /signs its requests already/)

  t.match((await verifyKey(db, created.api_key)).text, /^accepted: .*; its requests must be signed$/, 'verify says the key alone is not enough')
  const rotated = await signing(db, 'acme', 'rotate', SIGNING_KEY)
  t.equal((rotated.json as { signing_secret: string }).signing_secret, deriveSigningSecret(SIGNING_KEY, created.client_id, 2), 'a new generation')
  await t.rejects(signing(db, 'acme', 'rotate', undefined), /SIGNING_KEY, which is not set/)

  t.match((await signing(db, 'acme', 'off', SIGNING_KEY)).text, /acme no longer signs/)
  const again = await signing(db, 'acme', 'off', SIGNING_KEY, true)
  t.match(again.text, /acme did not sign its requests; nothing changed\. API_SIGNING_REQUIRED is true: every request of acme is now refused/,
    'with signatures required of all, the provider is told what off means')
  const reissued = await signing(db, 'acme', 'on', SIGNING_KEY)
  t.equal((reissued.json as { signing_secret: string }).signing_secret, deriveSigningSecret(SIGNING_KEY, created.client_id, 3),
    'a secret issued after off is a new one, never an old one back')
  await t.rejects(signing(db, 'nobody', 'on', SIGNING_KEY), /No client named "nobody"/)

  const shown = await limit(db, { clientName: 'acme', defaults: DEFAULTS })
  t.match(shown.text, /acme may make 1200 requests per 1m \(the service's RATE_LIMIT_MAX\) and send 60000 log entries per minute/)
  t.match(shown.json, { changed: false })
  t.match((await limit(db, { clientName: 'acme', requests: '600', entries: '20000', defaults: DEFAULTS })).json,
    { rate_limit: 600, ingest_rate_limit: 20000, changed: true })
  t.match((await limit(db, { clientName: 'acme', entries: 'default', defaults: DEFAULTS })).json,
    { rate_limit: 600, ingest_rate_limit: null, effective_ingest_rate_limit: 60000, changed: true })
  await t.rejects(limit(db, { clientName: 'acme', entries: '0', defaults: DEFAULTS }), /--entries "0" must be a whole number from 1/)
})
