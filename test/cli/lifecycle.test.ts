// The key CLI's lifecycle commands (rotate, revoke, allow, usage, audit) and
// what create, list and verify say about rotation, expiry and allowlists. The
// command lines run through the CLI's own parsing (./run.ts), against a
// service built on the same database; the finer cases call the command
// functions directly.
import { randomUUID } from 'node:crypto'
import { userInfo } from 'node:os'
import { parseEnv } from 'node:util'
import { sql } from 'kysely'
import t, { type Test } from 'tap'
import { cliActor, keyIdArgument } from '../../src/cli/actor.ts'
import { allow, parseAllowlist } from '../../src/cli/commands/allow.ts'
import { audit } from '../../src/cli/commands/audit.ts'
import { create } from '../../src/cli/commands/create.ts'
import { list } from '../../src/cli/commands/list.ts'
import { revoke } from '../../src/cli/commands/revoke.ts'
import { parseGrace, rotate } from '../../src/cli/commands/rotate.ts'
import { usage, usageWindow } from '../../src/cli/commands/usage.ts'
import { verifyClient, verifyKey } from '../../src/cli/commands/verify.ts'
import { durationOption, MAX_DURATION_SECONDS, parseDuration } from '../../src/cli/duration.ts'
import { dayOption, wholeNumberOption } from '../../src/cli/options.ts'
import { NotFoundError, UsageError } from '../../src/cli/output.ts'
import { generateKey } from '../../src/keys/format.ts'
import { DEFAULT_GRACE_SECONDS, KeyNotFoundError, RotationRefusedError } from '../../src/keys/lifecycle.ts'
import type { KeyView } from '../../src/keys/present.ts'
import { KEY_SHAPE, buildTestApp, callApi, entry, issueKey, postLogs, testDatabaseUrl } from '../helper.ts'
import { inParallel, keys, parsed, type Run, type Created } from './run.ts'

const WHOLE_KEY = new RegExp(`^${KEY_SHAPE.source}$`)
const DAY_MS = 86_400_000
const ACTOR = `cli:${userInfo().username}`
const PUBLIC_URL = 'http://127.0.0.1:3000'

interface Rotated {
  api_key: string
  key: KeyView
  previous: KeyView
  previous_ends_at: string | null
}

interface ListedKey extends Omit<KeyView, 'id' | 'prefix' | 'client_id'> {
  key_id: string
  key_prefix: string
  ends_at: string | null
}

interface Listed {
  clients: Array<{ client_id: string, client_name: string, keys: ListedKey[] }>
  expiring_soon: Array<{ client_id: string, client_name: string, key_id: string, key_prefix: string, ends_at: string | null }>
}

interface AuditListed {
  events: Array<{ id: string, event: string, client_id: string | null, client_name: string | null, key_id: string | null, actor: string, reason: string | null, details: Record<string, unknown> | null }>
}

interface UsageListed {
  from: string
  to: string
  clients: Array<{ client_id: string, client_name: string | null, days: Array<Record<string, number | string>>, total: Record<string, number> }>
}

interface ClientVerified {
  client_name: string
  accepted_keys: number
  keys: Array<{ key_id: string, accepted: boolean, status: string, reason: string | null, grace_ends_at: string | null, allowed_cidrs: string[] | null }>
}

/** A failed command: its exit code, its message on stderr and, with --json, the same as {"error"} on stdout. */
function expectFailure (t: Test, run: Run, code: number, message: RegExp): void {
  t.equal(run.code, code, `exit ${code}`)
  t.match(run.stderr, message, 'the message says what is wrong')
  if (run.stdout !== '') t.match(parsed<{ error: string }>(run), { error: message }, 'with --json, one {"error"} document')
}

/** Keys shaped like ours anywhere in a text. */
function keysIn (text: string): string[] {
  return text.match(new RegExp(KEY_SHAPE.source, 'g')) ?? []
}

/**
 * A request's status once the service has heard of a change the CLI made: the
 * change reaches each instance's key cache by a database notification, which
 * may land a moment after the CLI has exited.
 */
async function settledStatus (send: () => Promise<{ statusCode: number }>, expected: number): Promise<number> {
  let status = (await send()).statusCode
  for (let tries = 0; status !== expected && tries < 20; tries++) {
    await new Promise((resolve) => setTimeout(resolve, 50))
    status = (await send()).statusCode
  }
  return status
}

function within (t: Test, iso: string | null, from: number, to: number, label: string): void {
  const at = Date.parse(iso ?? '')
  t.ok(at >= from && at <= to, `${label} (${String(iso)})`)
}

void t.test('rotate: the new key works at once, the old one until its grace ends; --grace 0 stops it at once', async (t) => {
  const url = await testDatabaseUrl(t)
  const first = parsed<Created>(await keys(url, ['create', 'acme', '--expires-in', '90d', '--json']))

  const before = Date.now()
  const run = await keys(url, ['rotate', first.key_id, '--json'])
  const after = Date.now()
  t.equal(run.code, 0, run.stderr)
  const rotated = parsed<Rotated>(run)
  t.match(rotated.api_key, WHOLE_KEY, 'the new key, shown once')
  t.not(rotated.api_key, first.api_key)
  t.match(rotated.key, { client_id: first.client_id, scopes: first.scopes, status: 'active', replaced_by: null })
  t.match(rotated.previous, { id: first.key_id, status: 'grace', replaced_by: rotated.key.id })
  within(t, rotated.previous.grace_ends_at, before + DAY_MS, after + DAY_MS, 'the default grace is 24 hours')
  t.equal(rotated.previous_ends_at, rotated.previous.grace_ends_at, 'the old key stops when its grace ends, before its own expiry')
  within(t, rotated.key.expires_at, before + 90 * DAY_MS, after + 90 * DAY_MS, 'the new key lives as long as the old one was meant to')

  const [again, noGrace] = await inParallel([
    ['rotate', first.key_id, '--json'],
    ['rotate', rotated.key.id, '--grace', '0s']
  ], async (args) => await keys(url, args))
  expectFailure(t, again!, 1, /already rotated/)
  t.match(again!.stderr, rotated.key.id, 'and names the replacement to rotate instead')

  t.equal(noGrace!.code, 0, noGrace!.stderr)
  const shown = keysIn(noGrace!.stdout)
  t.equal(new Set(shown).size, 1, 'the text output shows the one new key')
  t.not(shown[0], rotated.api_key)
  t.match(noGrace!.stdout, new RegExp(`Old key ${rotated.key.id} .*refused from now on`))
  const third = shown[0]!

  const [malformed, unknown, badGrace, badExpiry] = await inParallel([
    ['rotate', 'not-a-key-id'],
    ['rotate', randomUUID(), '--json'],
    ['rotate', first.key_id, '--grace', '5x', '--json'],
    ['rotate', first.key_id, '--expires-in', '0d']
  ], async (args) => await keys(url, args))
  expectFailure(t, malformed!, 2, /"not-a-key-id" is not a key id/)
  expectFailure(t, unknown!, 1, /No key with id/)
  expectFailure(t, badGrace!, 2, /--grace "5x" is not a duration/)
  expectFailure(t, badExpiry!, 2, /--expires-in "0d" is not a duration/)

  const { app } = await buildTestApp(t, { DATABASE_URL: url })
  t.equal((await postLogs(app, first.api_key, entry())).statusCode, 201, 'the first key works through its grace')
  const refused = await postLogs(app, rotated.api_key, entry())
  t.equal(refused.statusCode, 401, 'a key rotated with no grace is refused at once')
  t.equal(refused.json<{ code: string }>().code, 'rotated_api_key')
  t.equal((await postLogs(app, third, entry())).statusCode, 201, 'its replacement works')
})

void t.test('revoke, allow and the audit trail they leave', async (t) => {
  const url = await testDatabaseUrl(t)
  const acme = parsed<Created>(await keys(url, ['create', 'acme', '--json']))
  const { app } = await buildTestApp(t, { DATABASE_URL: url })
  const globex = (await create(app.db, { clientName: 'globex', publicUrl: PUBLIC_URL })).json as Created
  t.equal((await postLogs(app, acme.api_key, entry())).statusCode, 201)

  const [revoked, allowed, badRange] = await inParallel([
    ['revoke', acme.key_id],
    ['allow', globex.key_id, '10.0.0.0/8,192.0.2.7', '--json'],
    ['allow', globex.key_id, '10.0.0.1/8']
  ], async (args) => await keys(url, args))
  t.equal(revoked!.code, 0, revoked!.stderr)
  t.match(revoked!.stdout, /Revoked key .*every running instance/)
  t.equal(await settledStatus(async () => await postLogs(app, acme.api_key, entry()), 401), 401, 'the revoked key is refused by a running service')
  t.equal((await postLogs(app, acme.api_key, entry())).json<{ code: string }>().code, 'revoked_api_key')

  const revokedAgain = await keys(url, ['revoke', acme.key_id, '--json'])
  t.equal(revokedAgain.code, 0, 'revoking twice is no error')
  t.match(parsed(revokedAgain), { revoked: false, key: { id: acme.key_id, status: 'revoked' } }, 'and says nothing changed')
  t.match((await revoke(app.db, acme.key_id)).text, /already revoked, at .*nothing changed/)

  t.equal(allowed!.code, 0, allowed!.stderr)
  t.same(parsed<{ key: KeyView }>(allowed!).key.allowed_cidrs, ['10.0.0.0/8', '192.0.2.7/32'], 'ranges normalized, a bare address is one host')
  expectFailure(t, badRange!, 2, /10\.0\.0\.1\/8.*bits set/)
  const fromInside = async (): Promise<{ statusCode: number }> => await callApi(app, globex.api_key, 'POST', '/api/v1/logs', entry(), { remoteAddress: '10.1.2.3' })
  const fromOutside = async (): Promise<{ statusCode: number }> => await callApi(app, globex.api_key, 'POST', '/api/v1/logs', entry(), { remoteAddress: '198.51.100.1' })
  t.equal(await settledStatus(fromOutside, 403), 403, 'a request from outside the allowlist is refused')
  t.equal((await fromInside()).statusCode, 201, 'one from inside it is accepted')

  const anyAddress = await keys(url, ['allow', globex.key_id, '--any', '--json'])
  t.equal(anyAddress.code, 0, anyAddress.stderr)
  t.equal(parsed<{ key: KeyView }>(anyAddress).key.allowed_cidrs, null, '--any removes the allowlist')
  t.equal(await settledStatus(fromOutside, 201), 201, 'and any address is accepted again')

  // A made-up key is nobody's: its failure is audited without a client.
  t.equal((await postLogs(app, generateKey(), entry())).statusCode, 401)
  await app.audit.flush()

  const [all, revocations] = await inParallel([
    ['audit', '--json'],
    ['audit', '--client', 'acme', '--event', 'key.revoked', '--json']
  ], async (args) => await keys(url, args))
  t.equal(all!.code, 0, all!.stderr)
  const events = parsed<AuditListed>(all!).events
  const ids = events.map((event) => Number(event.id))
  t.same(ids, [...ids].sort((a, b) => b - a), 'newest first')
  const byCli = events.filter((event) => event.actor === ACTOR).map((event) => `${event.event} ${event.client_name ?? ''} ${event.key_id ?? ''}`)
  // The revocation and the first allowlist ran side by side: their order is either.
  t.same(byCli.slice(-2).reverse(), [`key.created acme ${acme.key_id}`, `key.created globex ${globex.key_id}`], 'the creations first')
  t.same(byCli.sort(), [
    `key.created acme ${acme.key_id}`,
    `key.created globex ${globex.key_id}`,
    `key.revoked acme ${acme.key_id}`,
    `key.updated globex ${globex.key_id}`,
    `key.updated globex ${globex.key_id}`
  ], `each change, by ${ACTOR}; revoking twice is audited once, a refused allowlist not at all`)
  t.ok(events.some((event) => event.event === 'auth.failed' && event.client_id === null && event.actor === 'service'),
    'the provider also sees failures that belong to no client')
  t.notMatch(all!.stdout, KEY_SHAPE, 'no key in the trail')

  t.equal(revocations!.code, 0, revocations!.stderr)
  t.match(parsed<AuditListed>(revocations!).events, [{ event: 'key.revoked', client_name: 'acme', key_id: acme.key_id, actor: ACTOR }])
  t.equal(parsed<AuditListed>(revocations!).events.length, 1, '--client and --event narrow the trail')
})

void t.test('create --allow, and the API_KEYS line a development .env can hold', async (t) => {
  const url = await testDatabaseUrl(t)
  const [withAllowlist, text, help] = await inParallel([
    ['create', 'acme', '--allow', '10.0.0.0/8, 192.0.2.7', '--json'],
    ['create', 'globex', '--scopes', 'logs:write'],
    ['--help']
  ], async (args) => await keys(url, args))
  t.equal(help!.code, 0)
  for (const command of ['create', 'list', 'rotate', 'revoke', 'allow', 'verify', 'usage', 'audit', '--allow', '--older-than', '--grace', '--from']) {
    t.match(help!.stdout, command, `--help mentions ${command}`)
  }
  t.equal(withAllowlist!.code, 0, withAllowlist!.stderr)
  const acme = parsed<Created>(withAllowlist!)
  t.same(acme.allowed_cidrs, ['10.0.0.0/8', '192.0.2.7/32'])

  // Read as the service reads .env (env-schema uses Node's parseEnv).
  const acmeKeys = parseEnv(acme.env_line).API_KEYS
  t.type(acmeKeys, 'string', 'the line sets API_KEYS')
  t.same(JSON.parse(acmeKeys!), { [acme.api_key]: { id: acme.client_id, name: 'acme', scopes: ['logs:write', 'logs:read'] } })

  t.equal(text!.code, 0, text!.stderr)
  const line = text!.stdout.split('\n').map((row) => row.trim()).find((row) => row.startsWith('API_KEYS='))
  t.type(line, 'string', 'the text output prints the line too')
  const globexKeys = parseEnv(line ?? '').API_KEYS ?? ''
  const [globexKey] = Object.keys(JSON.parse(globexKeys) as object)
  t.ok(keysIn(text!.stdout).every((key) => key === globexKey), 'for the key it created')

  // A development service on another database: the key from the line authenticates, as its client.
  const dev = await buildTestApp(t, { API_KEYS: acmeKeys! })
  const posted = await postLogs(dev.app, acme.api_key, entry())
  t.equal(posted.statusCode, 201, posted.body)
  const stored = await dev.app.db.selectFrom('logs').select('client_id').where('id', '=', posted.json<{ id: string }>().id).executeTakeFirstOrThrow()
  t.equal(stored.client_id, acme.client_id, 'stored under the client id of the line')

  const globexDev = await buildTestApp(t, { API_KEYS: globexKeys })
  t.equal((await postLogs(globexDev.app, globexKey!, entry())).statusCode, 201)
  t.equal((await callApi(globexDev.app, globexKey!, 'GET', '/api/v1/logs')).statusCode, 403, 'with the scopes it was created with')

  // The database's own copy of the key keeps its allowlist.
  const { app } = await buildTestApp(t, { DATABASE_URL: url })
  t.equal((await callApi(app, acme.api_key, 'POST', '/api/v1/logs', entry(), { remoteAddress: '10.9.9.9' })).statusCode, 201)
  t.equal((await callApi(app, acme.api_key, 'POST', '/api/v1/logs', entry(), { remoteAddress: '192.0.2.8' })).statusCode, 403)
})

void t.test('usage: requests and logs per client and day, with totals', async (t) => {
  const { app, databaseUrl } = await buildTestApp(t)
  const acme = await issueKey(app, 'acme')
  const globex = await issueKey(app, 'globex')
  t.equal((await postLogs(app, acme.apiKey, entry())).statusCode, 201)
  t.equal((await postLogs(app, acme.apiKey, [entry(), entry()])).statusCode, 201)
  t.equal((await postLogs(app, acme.apiKey, [entry(), { environment: 'production' }])).statusCode, 400)
  t.equal((await postLogs(app, globex.apiKey, entry())).statusCode, 201)
  await app.usage.flush()
  const [{ day }] = await app.db.selectFrom('usage_daily').select('day').distinct().execute() as [{ day: string }]

  const [all, one] = await inParallel([
    ['usage', '--json'],
    ['usage', '--client', 'globex', '--from', day, '--to', day]
  ], async (args) => await keys(databaseUrl, args))
  t.equal(all!.code, 0, all!.stderr)
  const report = parsed<UsageListed>(all!)
  t.equal(report.to, day)
  t.same(report.clients.map((client) => [client.client_name, client.client_id]), [['acme', acme.clientId], ['globex', globex.clientId]])
  const acmeCounts = { requests: 3, rejected_requests: 1, rate_limited: 0, logs_accepted: 3, logs_duplicates: 0, logs_rejected: 2, auth_failures: 0 }
  t.same(report.clients[0]!.days, [{ day, ...acmeCounts }])
  t.same(report.clients[0]!.total, acmeCounts)
  t.same(report.clients[1]!.total, { requests: 1, rejected_requests: 0, rate_limited: 0, logs_accepted: 1, logs_duplicates: 0, logs_rejected: 0, auth_failures: 0 })

  t.equal(one!.code, 0, one!.stderr)
  t.match(one!.stdout, /^globex {2}\(/)
  t.notMatch(one!.stdout, /acme/, '--client shows that client only')
  t.match(one!.stdout, new RegExp(`${day} +1 requests .*1 logs accepted`))
  t.match(one!.stdout, /total +1 requests/)

  const past = await usage(app.db, { from: '2020-01-01', to: '2020-01-31' })
  t.same(past.json, { from: '2020-01-01', to: '2020-01-31', clients: [], unattributed_auth_failures: [] })
  t.equal(past.text, 'No usage recorded from 2020-01-01 to 2020-01-31.')
  await t.rejects(usage(app.db, { clientName: 'nobody' }), NotFoundError)
})

void t.test('list flags keys that stop within 14 days; --older-than finds accepted keys due for rotation', async (t) => {
  const { app, databaseUrl } = await buildTestApp(t)
  const made = async (clientName: string, expiresIn?: string): Promise<Created> =>
    (await create(app.db, { clientName, expiresIn, publicUrl: PUBLIC_URL })).json as Created
  const week = await made('acme', '7d')
  const quarter = await made('acme', '90d')
  const forever = await made('acme')
  const old = await made('globex')
  const oldRevoked = await made('globex')
  const oldRotated = await made('globex')
  await revoke(app.db, oldRevoked.key_id)
  const rotation = (await rotate(app.db, { keyId: oldRotated.key_id })).json as Rotated
  // Created long ago, a day apart, so that the listing's order (oldest first) is known.
  for (const [days, key] of [[102, old], [101, oldRevoked], [100, oldRotated]] as const) {
    await app.db.updateTable('api_keys').set({ created_at: sql<Date>`now() - make_interval(days => ${days})` }).where('id', '=', key.key_id).execute()
  }

  const [json, text, due] = await inParallel([
    ['list', '--json'],
    ['list'],
    ['list', '--older-than', '90d', '--json']
  ], async (args) => await keys(databaseUrl, args))
  t.equal(json!.code, 0, json!.stderr)
  const listed = parsed<Listed>(json!)
  const acmeKeys = listed.clients.find((client) => client.client_name === 'acme')!.keys
  t.same(acmeKeys.map((key) => [key.key_id, key.expiring_soon]), [[week.key_id, true], [quarter.key_id, false], [forever.key_id, false]])
  t.same(listed.expiring_soon.map((key) => key.key_id).sort(), [week.key_id, oldRotated.key_id].sort(),
    'a key expiring in 7 days, and one whose rotation grace ends tomorrow')
  t.equal(listed.expiring_soon.find((key) => key.key_id === week.key_id)?.ends_at, week.expires_at)
  const globexKeys = listed.clients.find((client) => client.client_name === 'globex')!.keys
  t.same(globexKeys.map((key) => key.status), ['active', 'revoked', 'grace', 'active'])

  t.equal(text!.code, 0, text!.stderr)
  t.equal(text!.stdout.match(/\[stops within 14 days\]/g)?.length, 2, 'each such key flagged in its row')
  t.match(text!.stdout, /\n2 key\(s\) stop working within 14 days:\n/)
  t.match(text!.stdout, new RegExp(`in rotation grace until ${rotation.previous.grace_ends_at ?? ''}`))
  t.match(text!.stdout, new RegExp(`${old.key_id} .* expires never`))

  t.equal(due!.code, 0, due!.stderr)
  const dueListed = parsed<Listed>(due!)
  t.same(dueListed.clients.map((client) => [client.client_name, client.keys.map((key) => key.key_id)]), [['globex', [old.key_id]]],
    'only active keys created more than 90 days ago: not revoked, not replaced already; clients with none are left out')

  t.match((await list(app.db, { olderThan: '200d' })).text, 'No active key is older than 200d.')
  await t.rejects(list(app.db, { olderThan: '90' }), UsageError)
})

void t.test('verify --client: rotated keys past their grace, keys in grace, expiry and allowlists', async (t) => {
  const { app, databaseUrl } = await buildTestApp(t)
  const made = async (allowList?: string): Promise<Created> =>
    (await create(app.db, { clientName: 'acme', allow: allowList, publicUrl: PUBLIC_URL })).json as Created
  const graceEnded = await made('10.0.0.0/8')
  const replacement = (await rotate(app.db, { keyId: graceEnded.key_id, grace: '1h' })).json as Rotated
  await app.db.updateTable('api_keys').set({ grace_ends_at: sql<Date>`now() - interval '1 minute'` }).where('id', '=', graceEnded.key_id).execute()
  const inGrace = (await rotate(app.db, { keyId: replacement.key.id, grace: '2d' })).json as Rotated
  const expiredInGrace = await made()
  await rotate(app.db, { keyId: expiredInGrace.key_id, grace: '7d' })
  await app.db.updateTable('api_keys').set({ expires_at: sql<Date>`now() - interval '1 minute'` }).where('id', '=', expiredInGrace.key_id).execute()

  const [json, text] = await inParallel([
    ['verify', '--client', 'acme', '--json'],
    ['verify', '--client', 'acme']
  ], async (args) => await keys(databaseUrl, args))
  t.equal(json!.code, 0, json!.stderr)
  const report = parsed<ClientVerified>(json!)
  const byId = new Map(report.keys.map((key) => [key.key_id, key]))
  t.match(byId.get(graceEnded.key_id), { accepted: false, status: 'rotated', reason: 'rotated', allowed_cidrs: ['10.0.0.0/8'] })
  t.match(byId.get(replacement.key.id), { accepted: true, status: 'grace', reason: null, grace_ends_at: inGrace.previous.grace_ends_at })
  t.match(byId.get(expiredInGrace.key_id), { accepted: false, status: 'expired', reason: 'expired' }, 'an expiry within the grace ends it')
  t.equal(report.accepted_keys, 3, 'the key in grace and the two new keys')

  t.equal(text!.code, 0, text!.stderr)
  t.match(text!.stdout, new RegExp(`${graceEnded.key_id} .*refused: rotated, and its grace period has ended`))
  t.match(text!.stdout, new RegExp(`${replacement.key.id} .*accepted until its rotation grace ends at ${inGrace.previous.grace_ends_at ?? ''}, only from 10\\.0\\.0\\.0/8`))
  t.match(text!.stdout, new RegExp(`${expiredInGrace.key_id} .*refused: expired`))

  const one = await verifyKey(app.db, inGrace.api_key)
  t.match(one.json, { accepted: true, allowed_cidrs: ['10.0.0.0/8'] })
  t.match(one.text, /only from 10\.0\.0\.0\/8/, 'verify <key> mentions the allowlist')
  const stale = await verifyKey(app.db, replacement.api_key)
  t.equal(stale.exitCode, undefined)
  t.match(stale.json, { accepted: true }, 'a key in grace is still accepted')
  const gone = await verifyKey(app.db, graceEnded.api_key)
  t.match(gone, { exitCode: 1, json: { accepted: false, code: 'rotated_api_key' } })
  await t.rejects(verifyClient(app.db, 'nobody'), NotFoundError)
})

void t.test('the command functions refuse what they cannot do, with a message', async (t) => {
  const { app } = await buildTestApp(t)
  const created = (await create(app.db, { clientName: 'acme', publicUrl: PUBLIC_URL })).json as Created

  await t.rejects(rotate(app.db, { keyId: randomUUID() }), KeyNotFoundError)
  await t.rejects(rotate(app.db, { keyId: created.key_id, expiresIn: '99999999w' }), { name: 'UsageError', message: /longer than 36500d/ })
  await t.rejects(revoke(app.db, randomUUID()), KeyNotFoundError)
  await revoke(app.db, created.key_id)
  await t.rejects(rotate(app.db, { keyId: created.key_id }), RotationRefusedError, 'a revoked key is not rotated')

  await t.rejects(allow(app.db, created.key_id, undefined, false), { name: 'UsageError', message: /either CIDR ranges or --any/ })
  await t.rejects(allow(app.db, created.key_id, '10.0.0.0/8', true), UsageError)
  await t.rejects(allow(app.db, created.key_id, ' , ', false), { name: 'UsageError', message: /at least one range/ })
  await t.rejects(allow(app.db, randomUUID(), '10.0.0.0/8', false), KeyNotFoundError)

  await t.rejects(audit(app.db, { event: 'key.deleted' }), { name: 'UsageError', message: /Unknown event "key.deleted"/ })
  await t.rejects(audit(app.db, { limit: '0' }), UsageError)
  await t.rejects(audit(app.db, { clientName: 'nobody' }), NotFoundError)
  const trail = await audit(app.db, { clientName: 'acme', limit: '1' })
  t.match(trail.text, new RegExp(`key\\.revoked +acme +${created.key_id} +by ${ACTOR}`), 'the text trail: when, what, whose, which key, by whom')
  t.equal((await audit(app.db, { event: 'auth.failed' })).text, 'No audit events.')

  const rotatedText = await create(app.db, { clientName: 'acme', allow: '192.0.2.0/24', publicUrl: PUBLIC_URL })
  t.match(rotatedText.text, /Allowed: +192\.0\.2\.0\/24/)
  t.match(rotatedText.text, /as a development key it has no expiry and no allowlist/, 'the .env line says what it leaves out')
  t.notMatch((await create(app.db, { clientName: 'acme', publicUrl: PUBLIC_URL })).text, /as a development key/)
  t.match((rotatedText.json as Created).env_line, /^API_KEYS='\{.*\}'$/)
  const rotation = await rotate(app.db, { keyId: (rotatedText.json as Created).key_id, grace: '1h' })
  t.match(rotation.text, /keeps working until .*, then it is refused\./)
  t.match((rotation.json as Rotated).key, { allowed_cidrs: ['192.0.2.0/24'] }, 'the new key keeps the allowlist')
})

void t.test('options: grace, durations, days and numbers', async (t) => {
  t.equal(parseGrace(undefined), DEFAULT_GRACE_SECONDS)
  for (const zero of ['0', '0s', '0h', '00', ' 0 ']) t.equal(parseGrace(zero), 0, `--grace ${zero} stops the old key at once`)
  t.equal(parseGrace('24h'), 86_400)
  t.equal(parseGrace('2w'), 14 * 86_400)
  for (const bad of ['5x', '-1h', '1.5h', '24 h', '']) t.throws(() => parseGrace(bad), UsageError, `--grace "${bad}" refused`)

  t.equal(parseDuration('0d'), undefined, 'a zero duration is none')
  t.equal(durationOption('--expires-in', '90d'), 90 * 86_400)
  t.equal(durationOption('--expires-in', `${MAX_DURATION_SECONDS / 86_400}d`), MAX_DURATION_SECONDS)
  t.throws(() => durationOption('--expires-in', `${MAX_DURATION_SECONDS / 86_400 + 1}d`), { message: /longer than/ })
  t.throws(() => durationOption('--older-than', '999999999w'), { message: /--older-than "999999999w" is longer than/ })

  const now = new Date('2026-03-10T12:00:00Z')
  t.same(usageWindow({}, now), { from: '2026-02-09', to: '2026-03-10' }, 'the last 30 days by default')
  t.same(usageWindow({ days: '1' }, now), { from: '2026-03-10', to: '2026-03-10' })
  t.same(usageWindow({ days: '7' }, now), { from: '2026-03-04', to: '2026-03-10' })
  t.same(usageWindow({ from: '2026-03-01' }, now), { from: '2026-03-01', to: '2026-03-10' }, '--from alone: up to today')
  t.same(usageWindow({ to: '2026-01-31' }, now), { from: '2026-01-02', to: '2026-01-31' }, '--to alone: the 30 days before')
  t.same(usageWindow({ from: '2025-03-11', to: '2026-03-11' }, now), { from: '2025-03-11', to: '2026-03-11' }, '366 days at most')
  t.throws(() => usageWindow({ from: '2025-03-10', to: '2026-03-11' }, now), { message: /more than 366 days/ })
  t.throws(() => usageWindow({ from: '2026-03-02', to: '2026-03-01' }, now), { message: /--from 2026-03-02 is after --to 2026-03-01/ })
  t.throws(() => usageWindow({ days: '7', from: '2026-03-01' }, now), { message: /either --days or --from\/--to/ })
  for (const days of ['0', '367', '1e2', '7.5', 'x']) t.throws(() => usageWindow({ days }, now), UsageError, `--days ${days} refused`)

  t.equal(dayOption('--from', '2024-02-29'), '2024-02-29')
  for (const day of ['2026-02-29', '2026-02-30', '0000-01-01', '2026-13-01', '2026-1-1', '20260101', 'today']) {
    t.throws(() => dayOption('--from', day), { message: /is not a calendar day written YYYY-MM-DD/ }, `${day} refused`)
  }
  t.equal(wholeNumberOption('--limit', '10', 1, 10), 10)
  t.throws(() => wholeNumberOption('--limit', '11', 1, 10), { message: '--limit "11" must be a whole number from 1 to 10.' })

  t.same(parseAllowlist(' 10.0.0.0/8 , 192.0.2.7 2001:db8::/32'), ['10.0.0.0/8', '192.0.2.7/32', '2001:db8::/32'])
  t.throws(() => parseAllowlist('10.1'), UsageError, 'an InvalidCidrError is bad usage')
  t.equal(keyIdArgument('0AF0C8A2-0000-4000-8000-000000000000'), '0af0c8a2-0000-4000-8000-000000000000')
  t.throws(() => keyIdArgument('clk_abc'), { message: /not a key id/ })
  t.same(cliActor(), { actor: ACTOR })
})

void t.test('usage: a window reaching back before the first day there is is refused', async (t) => {
  t.throws(() => usageWindow({ to: '0001-01-05' }), { message: /--from 0000-12-\d\d is before 0001-01-01/ })
})
