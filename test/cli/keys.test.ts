import pg from 'pg'
import t from 'tap'
import { generateKey } from '../../src/keys/format.ts'
import { KEY_SHAPE, buildTestApp, entry, testDatabaseUrl } from '../helper.ts'
import { inParallel, keys, keysProcess, parsed, type Created } from './run.ts'

const WHOLE_KEY = new RegExp(`^${KEY_SHAPE.source}$`)
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const DAY_MS = 86_400_000

interface Listed {
  clients: Array<{
    client_id: string
    client_name: string
    keys: Array<{ key_id: string, key_prefix: string, scopes: string[], status: string, revoked_at: string | null }>
  }>
}

interface Verified {
  accepted: boolean
  code?: string
  reason?: string
  client_id?: string
  client_name?: string
  key_id?: string
  scopes?: string[]
}

interface ClientVerified {
  client_name: string
  accepted_keys: number
  keys: Array<{ key_id: string, accepted: boolean, reason: string | null }>
}

/** Every property name anywhere in a JSON value. */
function propertyNames (value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(propertyNames)
  if (typeof value !== 'object' || value === null) return []
  return Object.entries(value).flatMap(([name, child]) => [name, ...propertyNames(child)])
}

void t.test('create prints the client, the key once and a hand-over message; a second key reuses the client', async (t) => {
  const url = await testDatabaseUrl(t)

  const first = await keys(url, ['create', 'acme', '--json'])
  t.equal(first.code, 0, first.stderr)
  const created = parsed<Created>(first)
  t.match(created, { client_name: 'acme', scopes: ['logs:write', 'logs:read'], expires_at: null })
  t.same(created.scopes, ['logs:write', 'logs:read'], 'the default scopes, exactly')
  t.match(created.client_id, UUID)
  t.match(created.key_id, UUID)
  t.match(created.api_key, WHOLE_KEY, 'the key has the documented format')
  t.type(created.message, 'string')
  t.ok(created.message.includes(created.api_key), 'the message to send to the client carries the key')

  const before = Date.now()
  const [second, all, expiring, otherClient, text] = await inParallel([
    ['create', 'acme', '--scopes', 'logs:read', '--json'],
    ['create', 'acme', '--scopes', 'logs:write,logs:read,keys:manage', '--json'],
    ['create', 'acme', '--expires-in', '90d', '--json'],
    ['create', 'globex', '--json'],
    ['create', 'acme']
  ], async (args) => await keys(url, args))
  const after = Date.now()

  t.equal(second!.code, 0, second!.stderr)
  const reader = parsed<Created>(second!)
  t.equal(reader.client_id, created.client_id, 'the existing client is reused')
  t.not(reader.key_id, created.key_id, 'a new key')
  t.not(reader.api_key, created.api_key)
  t.same(reader.scopes, ['logs:read'])

  t.equal(all!.code, 0, all!.stderr)
  t.same(parsed<Created>(all!).scopes, ['logs:write', 'logs:read', 'keys:manage'])

  t.equal(expiring!.code, 0, expiring!.stderr)
  const expiresAt = parsed<Created>(expiring!).expires_at
  t.type(expiresAt, 'string')
  const expiresMs = Date.parse(expiresAt ?? '')
  t.ok(expiresMs >= before + 90 * DAY_MS && expiresMs <= after + 90 * DAY_MS, `expires 90 days after the command ran (${String(expiresAt)})`)

  t.not(parsed<Created>(otherClient!).client_id, created.client_id, 'another name is another client')

  t.equal(text!.code, 0)
  const textKeys = text!.stdout.match(new RegExp(KEY_SHAPE.source, 'g')) ?? []
  t.ok(textKeys.length > 0 && textKeys.every((key) => key === textKeys[0]), 'the text output shows the one new key')
})

void t.test('bad input and bad usage exit 2 with a message; a client that does not exist exits 1', async (t) => {
  const url = await testDatabaseUrl(t)
  const cases: Array<[string, string[], RegExp, number?]> = [
    ['an unknown scope', ['create', 'acme', '--scopes', 'logs:read,logs:delete'], /logs:delete/],
    ['a duration with an unknown unit', ['create', 'acme', '--expires-in', '5x', '--json'], /5x/],
    ['a client name with a space', ['create', 'bad name'], /client name/i],
    ['create without a name', ['create'], /argument/],
    ['an unknown command', ['frobnicate'], /Unknown command/],
    ['an unknown flag', ['list', '--frobnicate'], /frobnicate/],
    ['an unknown flag with --json', ['list', '--frobnicate', '--json'], /frobnicate/],
    ['a flag the command does not take', ['list', '--scopes', 'logs:read'], /scopes/],
    // Well-formed, naming nothing: "not found", like an unknown key id.
    ['list of a client that does not exist', ['list', '--client', 'nobody'], /nobody/, 1]
  ]
  const runs = await inParallel(cases.map(([, args]) => args), async (args) => await keys(url, args))
  cases.forEach(([label, , message, code = 2], index) => {
    t.equal(runs[index]!.code, code, `${label}: exit ${code}`)
    t.match(runs[index]!.stderr, message, `${label}: the message says what is wrong`)
  })

  cases.forEach(([label, args, message], index) => {
    if (args.includes('--json')) t.match(parsed<{ error: string }>(runs[index]!), { error: message }, `${label}: with --json the error is one JSON document too`)
  })

  const listed = parsed<Listed>(await keys(url, ['list', '--json']))
  t.same(listed.clients, [], 'a refused create stores nothing')
})

void t.test('list shows clients and keys with their state, never a key or its hash', async (t) => {
  const url = await testDatabaseUrl(t)
  const empty = await keys(url, ['list', '--json'])
  t.equal(empty.code, 0, empty.stderr)
  t.same(parsed<Listed>(empty), { clients: [], expiring_soon: [] })

  const acme1 = parsed<Created>(await keys(url, ['create', 'acme', '--json']))
  const [acme2, globex] = (await inParallel([
    ['create', 'acme', '--scopes', 'logs:read', '--json'],
    ['create', 'globex', '--json']
  ], async (args) => await keys(url, args))).map((run) => parsed<Created>(run))
  const createdKeys = [acme1.api_key, acme2!.api_key, globex!.api_key]

  const [run, text, one] = await inParallel([
    ['list', '--json'],
    ['list'],
    ['list', '--client', 'globex', '--json']
  ], async (args) => await keys(url, args))

  t.equal(run!.code, 0, run!.stderr)
  const listed = parsed<Listed>(run!)
  t.same(listed.clients.map((client) => client.client_name), ['acme', 'globex'])
  const acme = listed.clients.find((client) => client.client_name === 'acme')
  t.equal(acme?.client_id, acme1.client_id)
  t.same(acme?.keys.map((key) => key.key_id), [acme1.key_id, acme2!.key_id])
  t.same(acme?.keys.map((key) => key.scopes), [['logs:write', 'logs:read'], ['logs:read']])
  t.same(acme?.keys.map((key) => key.status), ['active', 'active'])
  t.equal(acme?.keys[0]?.key_prefix, acme1.api_key.slice(0, 12), 'a short non-secret prefix tells keys apart')
  t.same(listed.clients[1]?.keys.map((key) => key.key_id), [globex!.key_id])

  const names = propertyNames(listed)
  t.notOk(names.some((name) => /api_key|hash|secret/i.test(name)), `no key or hash field (${[...new Set(names)].join(', ')})`)
  for (const apiKey of createdKeys) t.notOk(run!.stdout.includes(apiKey), 'a created key does not appear')
  t.notMatch(run!.stdout, KEY_SHAPE, 'nothing shaped like a key appears')

  t.equal(text!.code, 0)
  t.match(text!.stdout, /acme/)
  t.match(text!.stdout, acme1.key_id)
  t.notMatch(text!.stdout, KEY_SHAPE, 'nor in the text output')

  t.equal(one!.code, 0)
  t.same(parsed<Listed>(one!).clients.map((client) => client.client_name), ['globex'], '--client narrows the listing')

  const admin = new pg.Client({ connectionString: url })
  await admin.connect()
  t.teardown(async () => { await admin.end() })
  await admin.query('UPDATE api_keys SET revoked_at = now() WHERE id = $1', [acme2!.key_id])
  const afterRevoke = parsed<Listed>(await keys(url, ['list', '--client', 'acme', '--json']))
  t.same(afterRevoke.clients[0]?.keys.map((key) => key.status), ['active', 'revoked'], 'a revoked key is listed as such')
  t.type(afterRevoke.clients[0]?.keys[1]?.revoked_at, 'string')
})

void t.test('verify says whether a key would be accepted, and why not', async (t) => {
  const url = await testDatabaseUrl(t)
  const kept = parsed<Created>(await keys(url, ['create', 'acme', '--json']))
  const revoked = parsed<Created>(await keys(url, ['create', 'acme', '--scopes', 'logs:read', '--json']))

  const admin = new pg.Client({ connectionString: url })
  await admin.connect()
  t.teardown(async () => { await admin.end() })
  await admin.query('UPDATE api_keys SET revoked_at = now() WHERE id = $1', [revoked.key_id])

  const [ok, refused, garbage, unknown, fromStdin, perKey] = await inParallel([
    { args: ['verify', kept.api_key, '--json'] },
    { args: ['verify', revoked.api_key, '--json'] },
    { args: ['verify', 'clk_not-a-key', '--json'] },
    { args: ['verify', generateKey(), '--json'] },
    // A key passed as an argument lands in shell history and `ps`; stdin keeps it out.
    { args: ['verify', '-', '--json'], stdin: `${kept.api_key}\n` },
    { args: ['verify', '--client', 'acme', '--json'] }
  ], async ({ args, stdin }) => await keys(url, args, stdin))

  t.equal(ok!.code, 0, ok!.stderr)
  t.match(parsed<Verified>(ok!), {
    accepted: true,
    client_id: kept.client_id,
    client_name: 'acme',
    key_id: kept.key_id,
    scopes: ['logs:write', 'logs:read']
  })
  t.notOk(ok!.stdout.includes(kept.api_key), 'the key is not echoed back')

  t.equal(refused!.code, 1, 'a revoked key exits 1')
  t.match(parsed<Verified>(refused!), { accepted: false, code: 'revoked_api_key', reason: String })

  t.equal(garbage!.code, 1)
  t.match(parsed<Verified>(garbage!), { accepted: false, code: 'malformed_api_key' })

  t.equal(unknown!.code, 1)
  t.match(parsed<Verified>(unknown!), { accepted: false, code: 'invalid_api_key' }, 'a well-formed key that was never issued')

  t.equal(fromStdin!.code, 0, fromStdin!.stderr)
  t.match(parsed<Verified>(fromStdin!), { accepted: true, key_id: kept.key_id }, 'verify - reads the key from stdin')

  t.equal(perKey!.code, 0, 'one accepted key is enough')
  const report = parsed<ClientVerified>(perKey!)
  t.equal(report.client_name, 'acme')
  t.equal(report.accepted_keys, 1)
  t.same(report.keys.map((key) => ({ key_id: key.key_id, accepted: key.accepted, reason: key.reason })), [
    { key_id: kept.key_id, accepted: true, reason: null },
    { key_id: revoked.key_id, accepted: false, reason: 'revoked' }
  ], 'each key with its verdict')
  t.notMatch(perKey!.stdout, KEY_SHAPE, 'no key in the per-key report')

  await admin.query('UPDATE api_keys SET revoked_at = now() WHERE id = $1', [kept.key_id])
  const none = await keys(url, ['verify', '--client', 'acme', '--json'])
  t.equal(none.code, 1, 'no accepted key left: exit 1')
  t.equal(parsed<ClientVerified>(none).accepted_keys, 0)
})

void t.test('a key created by the CLI is accepted by the service on the same database', async (t) => {
  const url = await testDatabaseUrl(t)
  const writer = parsed<Created>(await keys(url, ['create', 'acme', '--json']))
  const reader = parsed<Created>(await keys(url, ['create', 'acme', '--scopes', 'logs:read', '--json']))
  const { app } = await buildTestApp(t, { DATABASE_URL: url })

  const posted = await app.inject({
    method: 'POST',
    url: '/api/v1/logs',
    headers: { authorization: `Bearer ${writer.api_key}` },
    payload: entry({ message: 'from a CLI key' })
  })
  t.equal(posted.statusCode, 201, posted.body)
  const id = posted.json<{ id: string }>().id

  const fetched = await app.inject({ method: 'GET', url: `/api/v1/logs/${id}`, headers: { 'x-api-key': writer.api_key } })
  t.equal(fetched.statusCode, 200)
  t.same(fetched.json(), posted.json(), 'the log comes back as stored')

  const read = await app.inject({ method: 'GET', url: `/api/v1/logs/${id}`, headers: { 'x-api-key': reader.api_key } })
  t.equal(read.statusCode, 200, 'another key of the same client reads it')
  const denied = await app.inject({ method: 'POST', url: '/api/v1/logs', headers: { 'x-api-key': reader.api_key }, payload: entry() })
  t.equal(denied.statusCode, 403, 'the scopes given on the command line hold')
  t.equal(denied.json<{ code: string }>().code, 'insufficient_scope')

  const owner = await app.db.selectFrom('logs').select(['client_id', 'key_id']).where('id', '=', id).executeTakeFirstOrThrow()
  t.same(owner, { client_id: writer.client_id, key_id: writer.key_id }, 'stored under the client and key the CLI reported')
})

void t.test('as a process, the way `npm run keys` runs it: exit status, one JSON document, stdin', async (t) => {
  // Every other test runs command lines in this process; this one starts the script itself, twice
  // (each start loads the service's code: seconds), for a success and a failure.
  t.setTimeout(120_000)
  const url = await testDatabaseUrl(t)
  const created = await keys(url, ['create', 'acme', '--json'])
  t.equal(created.code, 0, created.stderr)
  const key = parsed<Created>(created).api_key
  const [verified, refused] = await inParallel([
    { args: ['verify', '-', '--json'], stdin: `${key}\n` },
    { args: ['list', '--frobnicate', '--json'], stdin: '' }
  ], async ({ args, stdin }) => await keysProcess(url, args, stdin))
  t.equal(verified!.code, 0, verified!.stderr)
  t.match(parsed<Verified>(verified!), { accepted: true, client_name: 'acme' }, 'the key read from stdin is accepted')
  t.equal(refused!.code, 2, 'bad usage exits 2')
  t.match(parsed<{ error: string }>(refused!), { error: /frobnicate/ }, 'with --json, the error too is one JSON document on stdout')
  t.match(refused!.stderr, /Usage: npm run keys/)
})
