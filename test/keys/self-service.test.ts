// The self-service key routes over real PostgreSQL: which scope each route
// needs, the listing, creation, rotation and its grace, revocation, the
// address allowlist, and what each refuses. Keys are used once before they
// change, so that a stale cached copy would be caught.
import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import type { ErrorBody } from '../../src/errors.ts'
import type { CreatedKeyBody, KeyListBody, KeyViewBody, RevokedKeyBody, RotatedKeyBody } from '../../src/keys/schemas.ts'
import type { Scope } from '../../src/keys/scopes.ts'
import { buildTestApp, callApi, countLogs, entry, expectError, issueKey, KEY_SHAPE, postLogs, type IssuedKey, type IssueKeyOptions } from '../helper.ts'

const ALL_SCOPES: Scope[] = ['keys:manage', 'logs:write', 'logs:read']
const FULL_KEY = /^clk_[0-9A-Za-z]{49}$/
const KEY_VIEW_FIELDS = [
  'allowed_cidrs', 'client_id', 'created_at', 'current', 'expires_at', 'expiring_soon', 'grace_ends_at', 'id', 'last_used_address',
  'last_used_at', 'name', 'prefix', 'replaced_by', 'revoked_at', 'rotated_at', 'scopes', 'status'
]
const DAY_MS = 86_400_000

async function manager (app: FastifyInstance, client = 'acme', options: IssueKeyOptions = {}): Promise<IssuedKey> {
  return await issueKey(app, client, { scopes: ALL_SCOPES, ...options })
}

/**
 * How the service takes a key right now: 'accepted' (authenticated, whatever
 * the route's scope then says) or the code it was refused with.
 */
async function outcome (app: FastifyInstance, apiKey: string, remoteAddress?: string): Promise<string> {
  const res = await callApi(app, apiKey, 'GET', '/api/v1/logs?limit=1', undefined, remoteAddress === undefined ? {} : { remoteAddress })
  if (res.statusCode === 200) return 'accepted'
  const { code } = res.json<ErrorBody>()
  return code === 'insufficient_scope' ? 'accepted' : code
}

async function getKey (app: FastifyInstance, apiKey: string, keyId: string): Promise<KeyViewBody> {
  const res = await callApi(app, apiKey, 'GET', `/api/v1/keys/${keyId}`)
  if (res.statusCode !== 200) throw new Error(`GET /api/v1/keys/${keyId} answered ${res.statusCode}: ${res.body}`)
  return res.json<KeyViewBody>()
}

async function keyCount (app: FastifyInstance): Promise<number> {
  const row = await app.db.selectFrom('api_keys').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()
  return Number(row.n)
}

/** The instant is within `slackMs` of `expected` (the clocks are the same machine's; only the request's duration differs). */
function near (t: Test, actual: string | null, expected: number, what: string, slackMs = 5000): void {
  t.type(actual, 'string', `${what} is set`)
  const at = Date.parse(actual ?? '')
  t.ok(Math.abs(at - expected) <= slackMs, `${what}: ${actual ?? 'null'} is within ${slackMs} ms of ${new Date(expected).toISOString()}`)
}

void t.test('scopes: each route asks for its own, and a refused call changes nothing', async (t) => {
  const { app } = await buildTestApp(t)
  const writer = await issueKey(app, 'acme', { scopes: ['logs:write'] })
  const reader = await issueKey(app, 'acme', { scopes: ['logs:read'] })
  const keysOnly = await issueKey(app, 'acme', { scopes: ['keys:manage'] })
  const target = await issueKey(app, 'acme', { name: 'target' })
  const keysBefore = await keyCount(app)

  for (const url of ['/api/v1/logs', `/api/v1/logs/${randomUUID()}`]) {
    const body = expectError(t, await callApi(app, writer.apiKey, 'GET', url), 403, 'insufficient_scope')
    t.same(body.details, { required_scope: 'logs:read' }, `GET ${url}: names logs:read`)
    t.match(body.message, /logs:read/)
  }

  const managing: Array<[method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, body?: unknown]> = [
    ['GET', '/api/v1/keys'],
    ['POST', '/api/v1/keys', { scopes: ['logs:write'] }],
    ['POST', '/api/v1/keys'],
    ['GET', `/api/v1/keys/${target.keyId}`],
    ['PATCH', `/api/v1/keys/${target.keyId}`, { name: 'taken over', allowed_cidrs: ['192.0.2.1/32'] }],
    ['DELETE', `/api/v1/keys/${target.keyId}`],
    ['DELETE', `/api/v1/keys/${target.keyId}?allow_self=true`],
    ['POST', `/api/v1/keys/${target.keyId}/rotate`, { grace_seconds: 0 }],
    ['GET', '/api/v1/audit'],
    ['GET', '/api/v1/usage']
  ]
  for (const key of [writer, reader]) {
    for (const [method, url, payload] of managing) {
      const body = expectError(t, await callApi(app, key.apiKey, method, url, payload), 403, 'insufficient_scope')
      t.same(body.details, { required_scope: 'keys:manage' }, `${method} ${url}: names keys:manage`)
      t.match(body.message, /keys:manage/)
    }
  }
  t.equal(await keyCount(app), keysBefore, 'no key was created')
  const untouched = await getKey(app, keysOnly.apiKey, target.keyId)
  t.match(untouched, { name: 'target', status: 'active', allowed_cidrs: null, rotated_at: null, revoked_at: null }, 'the target key is as it was')
  t.equal(await outcome(app, target.apiKey), 'accepted', 'and still works')

  const ingest = expectError(t, await postLogs(app, reader.apiKey, entry()), 403, 'insufficient_scope')
  t.same(ingest.details, { required_scope: 'logs:write' }, 'a logs:read key cannot ingest')
  expectError(t, await postLogs(app, reader.apiKey, [entry(), entry()]), 403, 'insufficient_scope')
  t.equal(await countLogs(app), 0, 'nothing stored')

  t.equal((await callApi(app, keysOnly.apiKey, 'GET', '/api/v1/keys')).statusCode, 200, 'keys:manage alone manages keys')
  expectError(t, await postLogs(app, keysOnly.apiKey, entry()), 403, 'insufficient_scope')
  expectError(t, await callApi(app, keysOnly.apiKey, 'GET', '/api/v1/logs'), 403, 'insufficient_scope')
  t.equal((await postLogs(app, writer.apiKey, entry())).statusCode, 201, 'the logs:write key ingests')
})

void t.test('the list: this client\'s keys, never a key or its hash, and `current` only on the caller', async (t) => {
  const { app } = await buildTestApp(t)
  const admin = await manager(app)
  const second = await manager(app, 'acme', { name: 'second admin' })
  const ci = await issueKey(app, 'acme', { name: 'ci' })
  const doomed = await issueKey(app, 'acme')
  const outsider = await manager(app, 'globex')

  const created = await callApi(app, admin.apiKey, 'POST', '/api/v1/keys', { name: 'made over http' })
  t.equal(created.statusCode, 201)
  const rotated = await callApi(app, admin.apiKey, 'POST', `/api/v1/keys/${ci.keyId}/rotate`, {})
  t.equal(rotated.statusCode, 201)
  t.equal((await callApi(app, admin.apiKey, 'DELETE', `/api/v1/keys/${doomed.keyId}`)).statusCode, 200)
  const plaintexts = [admin, second, ci, doomed, outsider].map((key) => key.apiKey)
    .concat(created.json<CreatedKeyBody>().api_key, rotated.json<RotatedKeyBody>().api_key)

  const res = await callApi(app, admin.apiKey, 'GET', '/api/v1/keys')
  t.equal(res.statusCode, 200)
  const { data } = res.json<KeyListBody>()
  const expectedIds = [admin.keyId, second.keyId, ci.keyId, doomed.keyId, created.json<CreatedKeyBody>().key.id, rotated.json<RotatedKeyBody>().key.id]
  t.same(data.map((key) => key.id).sort(), [...expectedIds].sort(), 'every key of this client, and only those')
  t.notOk(data.some((key) => key.id === outsider.keyId), 'not the other client\'s key')
  t.ok(data.every((key) => key.client_id === admin.clientId), 'all of this client')
  t.same(data.map((key) => key.created_at), data.map((key) => key.created_at).sort(), 'oldest first')
  for (const key of data) t.same(Object.keys(key).sort(), KEY_VIEW_FIELDS, `${key.id}: exactly the documented fields`)

  t.notMatch(res.body, KEY_SHAPE, 'no key in the listing')
  t.notOk(res.body.includes('key_hash'), 'no key_hash field')
  t.notOk(res.body.includes('api_key'), 'no api_key field')
  for (const plaintext of plaintexts) t.notOk(res.body.includes(plaintext.slice(4)), 'no key\'s secret part, whole')
  const hashes = await app.db.selectFrom('api_keys').select('key_hash').execute()
  for (const { key_hash: hash } of hashes) {
    t.notOk(res.body.includes(hash.toString('hex')) || res.body.includes(hash.toString('base64')), 'no stored hash, in hex or base64')
  }

  t.same(data.filter((key) => key.current).map((key) => key.id), [admin.keyId], '`current` only on the calling key')
  const bySecond = (await callApi(app, second.apiKey, 'GET', '/api/v1/keys')).json<KeyListBody>().data
  t.same(bySecond.filter((key) => key.current).map((key) => key.id), [second.keyId], 'and on the other admin key when it calls')
  const viaBearer = await app.inject({ method: 'GET', url: '/api/v1/keys', headers: { authorization: `Bearer ${admin.apiKey}` } })
  t.same(viaBearer.json<KeyListBody>().data.filter((key) => key.current).map((key) => key.id), [admin.keyId], 'whatever header carries the key')

  const status = Object.fromEntries(data.map((key) => [key.id, key.status]))
  t.equal(status[ci.keyId], 'grace', 'a rotated key in its grace')
  t.equal(status[doomed.keyId], 'revoked', 'a revoked key')
  t.equal(status[admin.keyId], 'active')

  for (const key of data) {
    const one = await callApi(app, admin.apiKey, 'GET', `/api/v1/keys/${key.id}`)
    t.equal(one.statusCode, 200)
    t.same(one.json(), key, `GET /api/v1/keys/${key.id} shows what the list shows`)
    t.notMatch(one.body, KEY_SHAPE)
  }
})

void t.test('create: 201 with a key that works at once; defaults, options and the key shown only once', async (t) => {
  const { app, logLines } = await buildTestApp(t)
  const admin = await manager(app)

  const bare = await app.inject({ method: 'POST', url: '/api/v1/keys', headers: { 'x-api-key': admin.apiKey } })
  t.equal(bare.statusCode, 201, 'no body at all: a key with the defaults')
  const { api_key: apiKey, key } = bare.json<CreatedKeyBody>()
  t.match(apiKey, FULL_KEY, 'the key itself, in full')
  t.ok(apiKey.startsWith(key.prefix), 'its prefix is the listed one')
  t.match(key, {
    client_id: admin.clientId,
    name: null,
    scopes: ['logs:write', 'logs:read'],
    status: 'active',
    expires_at: null,
    allowed_cidrs: null,
    last_used_at: null,
    revoked_at: null,
    current: false,
    expiring_soon: false
  })
  t.equal((await postLogs(app, apiKey, entry({ message: 'from the new key' }))).statusCode, 201, 'the new key ingests at once')
  t.equal((await callApi(app, apiKey, 'GET', '/api/v1/logs')).statusCode, 200, 'and reads')
  expectError(t, await callApi(app, apiKey, 'GET', '/api/v1/keys'), 403, 'insufficient_scope')

  const stored = await app.db.selectFrom('api_keys').selectAll().where('id', '=', key.id).executeTakeFirstOrThrow()
  t.notOk(JSON.stringify(stored).includes(apiKey.slice(4)), 'the database holds no plaintext')
  t.equal(stored.key_hash.length, 32, 'but a 32-byte hash')

  const empty = await callApi(app, admin.apiKey, 'POST', '/api/v1/keys', {})
  t.equal(empty.statusCode, 201, '{} is the defaults too')
  t.same(empty.json<CreatedKeyBody>().key.scopes, ['logs:write', 'logs:read'])
  t.not(empty.json<CreatedKeyBody>().api_key, apiKey, 'a different key each time')

  const before = Date.now()
  const full = await callApi(app, admin.apiKey, 'POST', '/api/v1/keys', {
    name: 'reporting',
    scopes: ['logs:read'],
    expires_in_seconds: 3600,
    allowed_cidrs: [' 10.0.0.0/8', '192.0.2.7', '10.0.0.0/8', '2001:DB8::/32']
  })
  t.equal(full.statusCode, 201)
  const made = full.json<CreatedKeyBody>()
  t.match(made.key, { name: 'reporting', scopes: ['logs:read'], status: 'active', expiring_soon: true })
  near(t, made.key.expires_at, before + 3_600_000, 'expires_at is an hour from now')
  t.same(made.key.allowed_cidrs, ['10.0.0.0/8', '192.0.2.7/32', '2001:db8::/32'], 'the allowlist, normalized and deduplicated')
  t.equal(await outcome(app, made.api_key), 'address_not_allowed', 'refused from outside its allowlist')
  t.equal(await outcome(app, made.api_key, '192.0.2.7'), 'accepted', 'accepted from inside')
  t.equal(await outcome(app, made.api_key, '2001:db8:1::5'), 'accepted', 'an IPv6 range too')
  expectError(t, await postLogs(app, made.api_key, entry()), 403, 'address_not_allowed')

  const manages = await callApi(app, admin.apiKey, 'POST', '/api/v1/keys', { scopes: ['keys:manage'] })
  t.equal(manages.statusCode, 201, 'a keys:manage key can hand out keys:manage')
  const managerList = await callApi(app, manages.json<CreatedKeyBody>().api_key, 'GET', '/api/v1/keys')
  t.equal(managerList.statusCode, 200)
  t.same(managerList.json<KeyListBody>().data.filter((one) => one.current).map((one) => one.id), [manages.json<CreatedKeyBody>().key.id])

  const listed = await callApi(app, admin.apiKey, 'GET', '/api/v1/keys')
  t.notMatch(listed.body, KEY_SHAPE, 'the key is shown once: never again in the list')
  t.same(logLines().filter((line) => KEY_SHAPE.test(line)), [], 'and never in the service\'s log')
})

void t.test('create and rotate: a key cannot hand out a scope it lacks', async (t) => {
  const { app } = await buildTestApp(t)
  const limited = await issueKey(app, 'acme', { scopes: ['keys:manage', 'logs:write'] })
  const reader = await issueKey(app, 'acme', { scopes: ['logs:read'], name: 'reader' })
  const writer = await issueKey(app, 'acme', { scopes: ['logs:write'] })
  const before = await keyCount(app)

  const asked = expectError(t, await callApi(app, limited.apiKey, 'POST', '/api/v1/keys', { scopes: ['logs:read'] }), 403, 'scope_not_grantable')
  t.same(asked.details, { scopes: ['logs:read'] }, 'names the scope it lacks')
  t.match(asked.message, /logs:read/)
  const defaults = expectError(t, await callApi(app, limited.apiKey, 'POST', '/api/v1/keys'), 403, 'scope_not_grantable')
  t.same(defaults.details, { scopes: ['logs:read'] }, 'the default scopes are no way around it')
  expectError(t, await callApi(app, limited.apiKey, 'POST', '/api/v1/keys', { scopes: ['logs:write', 'logs:read', 'keys:manage'] }), 403, 'scope_not_grantable')
  t.equal(await keyCount(app), before, 'nothing created')

  const allowed = await callApi(app, limited.apiKey, 'POST', '/api/v1/keys', { scopes: ['logs:write', 'keys:manage'] })
  t.equal(allowed.statusCode, 201, 'what it holds, it can grant')

  // A rotation hands back a new key with the old one's scopes: the same rule holds.
  const viaRotation = expectError(t, await callApi(app, limited.apiKey, 'POST', `/api/v1/keys/${reader.keyId}/rotate`, { grace_seconds: 0 }), 403, 'scope_not_grantable')
  t.same(viaRotation.details, { scopes: ['logs:read'] })
  t.match(await getKey(app, limited.apiKey, reader.keyId), { status: 'active', rotated_at: null, replaced_by: null }, 'the reader key was not rotated')
  t.equal(await outcome(app, reader.apiKey), 'accepted', 'and still works')
  t.equal(await keyCount(app), before + 1, 'and no key was made for it')
  const rotated = await callApi(app, limited.apiKey, 'POST', `/api/v1/keys/${writer.keyId}/rotate`, {})
  t.equal(rotated.statusCode, 201, 'a key within its own scopes it can rotate')
})

void t.test('create: a malformed body is a 400 in the error shape and creates nothing', async (t) => {
  const { app } = await buildTestApp(t)
  const admin = await manager(app)
  const before = await keyCount(app)
  const manyCidrs = Array.from({ length: 101 }, (_, index) => `10.0.${index}.0/24`)
  const cases: Array<[string, unknown, string]> = [
    ['an unknown field', { name: 'x', owner: 'someone' }, 'invalid_request'],
    ['a client_id of its choosing', { client_id: randomUUID() }, 'invalid_request'],
    ['empty scopes', { scopes: [] }, 'invalid_request'],
    ['an unknown scope', { scopes: ['logs:delete'] }, 'invalid_request'],
    ['a scope in another case', { scopes: ['LOGS:READ'] }, 'invalid_request'],
    ['a repeated scope', { scopes: ['logs:read', 'logs:read'] }, 'invalid_request'],
    ['scopes as a string', { scopes: 'logs:read' }, 'invalid_request'],
    ['scopes as null', { scopes: null }, 'invalid_request'],
    ['an empty name', { name: '' }, 'invalid_request'],
    ['a name too long', { name: 'n'.repeat(129) }, 'invalid_request'],
    ['a number for a name', { name: 5 }, 'invalid_request'],
    ['a boolean for a name', { name: true }, 'invalid_request'],
    ['a lifetime under a minute', { expires_in_seconds: 59 }, 'invalid_request'],
    ['a negative lifetime', { expires_in_seconds: -3600 }, 'invalid_request'],
    ['a fractional lifetime', { expires_in_seconds: 3600.5 }, 'invalid_request'],
    ['a lifetime as a string', { expires_in_seconds: '3600' }, 'invalid_request'],
    ['a lifetime past ten years', { expires_in_seconds: 10 * 366 * 86_400 + 1 }, 'invalid_request'],
    ['an empty allowlist', { allowed_cidrs: [] }, 'invalid_request'],
    ['an allowlist as a string', { allowed_cidrs: '10.0.0.0/8' }, 'invalid_request'],
    ['a number in the allowlist', { allowed_cidrs: [10] }, 'invalid_request'],
    ['more than 100 ranges', { allowed_cidrs: manyCidrs }, 'invalid_request'],
    ['not a range', { allowed_cidrs: ['not-a-cidr'] }, 'invalid_allowlist'],
    ['host bits set', { allowed_cidrs: ['10.0.0.1/8'] }, 'invalid_allowlist'],
    ['a prefix too long', { allowed_cidrs: ['10.0.0.0/33'] }, 'invalid_allowlist'],
    ['an IPv6 prefix too long', { allowed_cidrs: ['2001:db8::/129'] }, 'invalid_allowlist'],
    ['a legacy short IPv4 form', { allowed_cidrs: ['10.1/16'] }, 'invalid_allowlist'],
    ['an IPv4-mapped IPv6 range', { allowed_cidrs: ['::ffff:10.0.0.0/104'] }, 'invalid_allowlist'],
    ['one bad range among good ones', { allowed_cidrs: ['10.0.0.0/8', '192.0.2.0/24', '300.0.0.0/8'] }, 'invalid_allowlist'],
    ['an array body', [{ name: 'x' }], 'invalid_request'],
    ['a string body', 'name', 'invalid_request']
  ]
  for (const [what, body, code] of cases) {
    const res = await callApi(app, admin.apiKey, 'POST', '/api/v1/keys', body)
    t.comment(what)
    const error = expectError(t, res, 400, code)
    t.notMatch(res.body, KEY_SHAPE, `${what}: no key in the answer`)
    if (code === 'invalid_request') t.ok(Array.isArray(error.details), `${what}: details name the field`)
  }
  const hostBits = expectError(t, await callApi(app, admin.apiKey, 'POST', '/api/v1/keys', { allowed_cidrs: ['10.0.0.1/8'] }), 400, 'invalid_allowlist')
  t.match(hostBits.message, /10\.0\.0\.0\/8/, 'says which range was probably meant')
  const malformed = await app.inject({
    method: 'POST', url: '/api/v1/keys', headers: { 'x-api-key': admin.apiKey, 'content-type': 'application/json' }, payload: '{"name": '
  })
  expectError(t, malformed, 400, 'invalid_json')
  t.equal(await keyCount(app), before, 'no key was created')
})

void t.test('rotate: the new key works and inherits; the old one works through the grace', async (t) => {
  const { app } = await buildTestApp(t)
  const admin = await manager(app)
  const old = await issueKey(app, 'acme', {
    name: 'deploy', scopes: ['logs:write'], allowedCidrs: ['127.0.0.0/8', '192.0.2.0/24'], expiresAt: new Date(Date.now() + 10 * DAY_MS)
  })
  t.equal(await outcome(app, old.apiKey), 'accepted')
  const oldView = await getKey(app, admin.apiKey, old.keyId)
  const lifetime = Date.parse(oldView.expires_at!) - Date.parse(oldView.created_at)

  const before = Date.now()
  const res = await app.inject({ method: 'POST', url: `/api/v1/keys/${old.keyId}/rotate`, headers: { 'x-api-key': admin.apiKey } })
  t.equal(res.statusCode, 201, 'no body: the default grace')
  const rotation = res.json<RotatedKeyBody>()
  t.match(rotation.api_key, FULL_KEY)
  t.not(rotation.api_key, old.apiKey)
  t.not(rotation.key.id, old.keyId)
  t.match(rotation.key, {
    client_id: admin.clientId, name: 'deploy', scopes: ['logs:write'], allowed_cidrs: ['127.0.0.0/8', '192.0.2.0/24'], status: 'active', current: false
  }, 'the new key keeps the scopes, name and allowlist')
  near(t, rotation.key.expires_at, before + lifetime, 'the new key lives as long as the old one did, from now')
  t.match(rotation.previous, { id: old.keyId, status: 'grace', replaced_by: rotation.key.id, expires_at: oldView.expires_at, expiring_soon: true })
  near(t, rotation.previous.grace_ends_at, before + DAY_MS, 'the default grace is a day')
  near(t, rotation.previous.rotated_at, before, 'rotated_at is now')

  t.equal((await postLogs(app, old.apiKey, entry({ message: 'old key in its grace' }))).statusCode, 201, 'the old key still ingests')
  t.equal((await postLogs(app, rotation.api_key, entry({ message: 'new key' }))).statusCode, 201, 'the new key ingests')
  t.equal(await outcome(app, rotation.api_key, '198.51.100.1'), 'address_not_allowed', 'the new key has the old allowlist')
  t.equal(await outcome(app, rotation.api_key, '192.0.2.55'), 'accepted')
  t.equal((await getKey(app, admin.apiKey, old.keyId)).status, 'grace', 'listed as in its grace')

  const again = expectError(t, await callApi(app, admin.apiKey, 'POST', `/api/v1/keys/${old.keyId}/rotate`, {}), 409, 'key_already_rotated')
  t.match(again.details, { key_id: old.keyId, replaced_by: rotation.key.id, status: 'grace' }, 'points at the replacement')
  t.notMatch(JSON.stringify(again), KEY_SHAPE)

  const chained = await callApi(app, admin.apiKey, 'POST', `/api/v1/keys/${rotation.key.id}/rotate`, { grace_seconds: 60, expires_in_seconds: null })
  t.equal(chained.statusCode, 201, 'the replacement can be rotated in turn')
  t.equal(chained.json<RotatedKeyBody>().key.expires_at, null, 'expires_in_seconds null: never expires')
  near(t, chained.json<RotatedKeyBody>().previous.grace_ends_at, Date.now() + 60_000, 'grace_seconds sets the grace')

  const forever = await issueKey(app, 'acme')
  const unexpiring = await callApi(app, admin.apiKey, 'POST', `/api/v1/keys/${forever.keyId}/rotate`, {})
  t.equal(unexpiring.json<RotatedKeyBody>().key.expires_at, null, 'a key that never expired is replaced by one that never expires')
  const fixed = await issueKey(app, 'acme', { expiresAt: new Date(Date.now() + 10 * DAY_MS) })
  const hour = await callApi(app, admin.apiKey, 'POST', `/api/v1/keys/${fixed.keyId}/rotate`, { expires_in_seconds: 3600 })
  near(t, hour.json<RotatedKeyBody>().key.expires_at, Date.now() + 3_600_000, 'expires_in_seconds sets the new key\'s lifetime')
  const upper = await callApi(app, admin.apiKey, 'POST', `/api/v1/keys/${forever.keyId.toUpperCase()}/rotate`, {})
  expectError(t, upper, 409, 'key_already_rotated')
})

void t.test('rotate: grace_seconds 0 stops the old key at once, the caller\'s own included', async (t) => {
  const { app } = await buildTestApp(t)
  const admin = await manager(app)
  const old = await issueKey(app, 'acme')
  t.equal(await outcome(app, old.apiKey), 'accepted', 'used (and so cached) before the rotation')

  const res = await callApi(app, admin.apiKey, 'POST', `/api/v1/keys/${old.keyId}/rotate`, { grace_seconds: 0 })
  t.equal(res.statusCode, 201)
  const rotation = res.json<RotatedKeyBody>()
  t.equal(rotation.previous.status, 'rotated', 'the old key is listed as rotated')
  expectError(t, await callApi(app, old.apiKey, 'GET', '/api/v1/logs'), 401, 'rotated_api_key')
  expectError(t, await postLogs(app, old.apiKey, entry()), 401, 'rotated_api_key')
  t.equal(await outcome(app, rotation.api_key), 'accepted', 'the new key works')
  expectError(t, await callApi(app, admin.apiKey, 'POST', `/api/v1/keys/${old.keyId}/rotate`, { grace_seconds: 0 }), 409, 'key_already_rotated')

  const own = await callApi(app, admin.apiKey, 'POST', `/api/v1/keys/${admin.keyId}/rotate`, { grace_seconds: 0 })
  t.equal(own.statusCode, 201, 'a key may rotate itself')
  const ownRotation = own.json<RotatedKeyBody>()
  t.equal(ownRotation.previous.current, true, 'the previous key is the caller')
  expectError(t, await callApi(app, admin.apiKey, 'GET', '/api/v1/keys'), 401, 'rotated_api_key')
  const listed = await callApi(app, ownRotation.api_key, 'GET', '/api/v1/keys')
  t.equal(listed.statusCode, 200, 'the replacement manages keys')
  t.same(listed.json<KeyListBody>().data.filter((key) => key.current).map((key) => key.id), [ownRotation.key.id])
})

void t.test('rotate: a short grace: the old key works until it ends, and is refused after', async (t) => {
  const { app } = await buildTestApp(t)
  const admin = await manager(app)
  const old = await issueKey(app, 'acme')
  t.equal(await outcome(app, old.apiKey), 'accepted')

  const res = await callApi(app, admin.apiKey, 'POST', `/api/v1/keys/${old.keyId}/rotate`, { grace_seconds: 2 })
  t.equal(res.statusCode, 201)
  const graceEnd = Date.parse(res.json<RotatedKeyBody>().previous.grace_ends_at!)
  const during: string[] = []
  const after: string[] = []
  // Polled until a second past the grace; a request that straddles its end says nothing.
  while (Date.now() < graceEnd + 1000) {
    const startedAt = Date.now()
    const seen = await outcome(app, old.apiKey)
    const endedAt = Date.now()
    if (endedAt < graceEnd) during.push(seen)
    else if (startedAt > graceEnd) after.push(seen)
    await sleep(100)
  }
  t.ok(during.length > 0, 'the key was tried during its grace')
  t.same([...new Set(during)], ['accepted'], 'and accepted every time')
  t.ok(after.length > 0, 'the key was tried after its grace')
  t.same([...new Set(after)], ['rotated_api_key'], 'and refused as rotated every time')
  expectError(t, await postLogs(app, old.apiKey, entry()), 401, 'rotated_api_key')
  t.equal((await getKey(app, admin.apiKey, old.keyId)).status, 'rotated')
  t.equal(await outcome(app, res.json<RotatedKeyBody>().api_key), 'accepted', 'the new key works')
})

void t.test('rotate: the grace never outlasts the old key\'s own expiry', async (t) => {
  const { app } = await buildTestApp(t)
  const admin = await manager(app)
  const old = await issueKey(app, 'acme', { expiresAt: new Date(Date.now() + 1500) })
  const res = await callApi(app, admin.apiKey, 'POST', `/api/v1/keys/${old.keyId}/rotate`, { grace_seconds: 86_400, expires_in_seconds: 3600 })
  t.equal(res.statusCode, 201)
  const rotation = res.json<RotatedKeyBody>()
  const expiresAt = Date.parse(rotation.previous.expires_at!)
  if (Date.now() < expiresAt) t.equal(await outcome(app, old.apiKey), 'accepted', 'accepted before its expiry')
  await sleep(Math.max(0, expiresAt - Date.now()) + 100)
  expectError(t, await callApi(app, old.apiKey, 'GET', '/api/v1/logs'), 401, 'expired_api_key')
  t.equal((await getKey(app, admin.apiKey, old.keyId)).status, 'expired', 'listed as expired, its grace notwithstanding')
  t.equal(await outcome(app, rotation.api_key), 'accepted', 'the new key, with its own lifetime, works')
})

void t.test('rotate: refused for keys that are not accepted, not found, or with a bad body', async (t) => {
  const { app } = await buildTestApp(t)
  const admin = await manager(app)
  const revoked = await issueKey(app, 'acme')
  t.equal((await callApi(app, admin.apiKey, 'DELETE', `/api/v1/keys/${revoked.keyId}`)).statusCode, 200)
  const revokedRefusal = expectError(t, await callApi(app, admin.apiKey, 'POST', `/api/v1/keys/${revoked.keyId}/rotate`, {}), 409, 'key_not_active')
  t.match(revokedRefusal.details, { key_id: revoked.keyId, status: 'revoked' })
  const expired = await issueKey(app, 'acme', { expiresAt: new Date(Date.now() - 1000) })
  const expiredRefusal = expectError(t, await callApi(app, admin.apiKey, 'POST', `/api/v1/keys/${expired.keyId}/rotate`, {}), 409, 'key_not_active')
  t.match(expiredRefusal.details, { status: 'expired' })

  const outsider = await manager(app, 'globex')
  const missing = await callApi(app, admin.apiKey, 'POST', `/api/v1/keys/${randomUUID()}/rotate`, {})
  expectError(t, missing, 404, 'not_found')
  for (const id of [outsider.keyId, outsider.keyId.toUpperCase(), 'not-a-uuid', '1', `${admin.keyId}x`]) {
    const res = await callApi(app, admin.apiKey, 'POST', `/api/v1/keys/${encodeURIComponent(id)}/rotate`, { grace_seconds: 0 })
    expectError(t, res, 404, 'not_found')
    t.same(res.json(), missing.json(), `${id}: the same answer as for a key that does not exist`)
  }
  t.equal(await outcome(app, outsider.apiKey), 'accepted', 'the other client\'s key is untouched')

  const target = await issueKey(app, 'acme')
  const bodies: unknown[] = [
    { grace_seconds: -1 }, { grace_seconds: 30 * 86_400 + 1 }, { grace_seconds: '60' }, { grace_seconds: 1.5 }, { grace_seconds: null },
    { grace_seconds: 60, extra: true }, { expires_in_seconds: 10 }, { expires_in_seconds: '3600' }, [], 'now'
  ]
  for (const body of bodies) {
    expectError(t, await callApi(app, admin.apiKey, 'POST', `/api/v1/keys/${target.keyId}/rotate`, body), 400, 'invalid_request')
  }
  t.match(await getKey(app, admin.apiKey, target.keyId), { status: 'active', rotated_at: null }, 'the key was not rotated')
  const longest = await callApi(app, admin.apiKey, 'POST', `/api/v1/keys/${target.keyId}/rotate`, { grace_seconds: 30 * 86_400 })
  t.equal(longest.statusCode, 201, 'thirty days of grace is allowed')
})

void t.test('revoke: at once on this instance; the own key only on purpose; twice is harmless', async (t) => {
  const { app } = await buildTestApp(t)
  const admin = await manager(app)
  const victim = await issueKey(app, 'acme')
  t.equal(await outcome(app, victim.apiKey), 'accepted', 'used (and so cached) before the revocation')

  const res = await callApi(app, admin.apiKey, 'DELETE', `/api/v1/keys/${victim.keyId}`)
  t.equal(res.statusCode, 200)
  const revocation = res.json<RevokedKeyBody>()
  t.equal(revocation.revoked, true)
  t.match(revocation.key, { id: victim.keyId, status: 'revoked', current: false })
  t.type(revocation.key.revoked_at, 'string')
  expectError(t, await callApi(app, victim.apiKey, 'GET', '/api/v1/logs'), 401, 'revoked_api_key')
  expectError(t, await postLogs(app, victim.apiKey, entry()), 401, 'revoked_api_key')
  t.equal(await countLogs(app), 0)

  const twice = await callApi(app, admin.apiKey, 'DELETE', `/api/v1/keys/${victim.keyId}`)
  t.equal(twice.statusCode, 200, 'revoking again is no error')
  t.equal(twice.json<RevokedKeyBody>().revoked, false, 'but says nothing changed')
  t.equal(twice.json<RevokedKeyBody>().key.revoked_at, revocation.key.revoked_at, 'the first revocation time stays')

  // A key in its rotation grace is revoked at once too, grace or not.
  const graced = await issueKey(app, 'acme')
  t.equal((await callApi(app, admin.apiKey, 'POST', `/api/v1/keys/${graced.keyId}/rotate`, {})).statusCode, 201)
  t.equal(await outcome(app, graced.apiKey), 'accepted', 'in its grace')
  t.equal((await callApi(app, admin.apiKey, 'DELETE', `/api/v1/keys/${graced.keyId}`)).statusCode, 200)
  t.equal(await outcome(app, graced.apiKey), 'revoked_api_key', 'revoked during its grace: refused at once')

  for (const url of [`/api/v1/keys/${admin.keyId}`, `/api/v1/keys/${admin.keyId}?allow_self=false`, `/api/v1/keys/${admin.keyId.toUpperCase()}`]) {
    const own = expectError(t, await callApi(app, admin.apiKey, 'DELETE', url), 409, 'own_key')
    t.match(own.message, /allow_self=true/, `${url}: says how to do it anyway`)
  }
  const misspelt = expectError(t, await callApi(app, admin.apiKey, 'DELETE', `/api/v1/keys/${admin.keyId}?allowself=true`), 400, 'invalid_request')
  t.match(misspelt.details, [{ field: 'querystring.allowself' }], 'a misspelt flag is named, not ignored')
  t.equal((await callApi(app, admin.apiKey, 'GET', '/api/v1/keys')).statusCode, 200, 'the own key still works')
  t.equal((await getKey(app, admin.apiKey, admin.keyId)).revoked_at, null)

  const outsider = await manager(app, 'globex')
  const missing = await callApi(app, admin.apiKey, 'DELETE', `/api/v1/keys/${randomUUID()}`)
  expectError(t, missing, 404, 'not_found')
  for (const url of [`/api/v1/keys/${outsider.keyId}`, `/api/v1/keys/${outsider.keyId}?allow_self=true`, '/api/v1/keys/not-a-uuid', '/api/v1/keys/0']) {
    const res = await callApi(app, admin.apiKey, 'DELETE', url)
    expectError(t, res, 404, 'not_found')
    t.same(res.json(), missing.json(), `${url}: as if it did not exist`)
  }
  expectError(t, await callApi(app, admin.apiKey, 'DELETE', `/api/v1/keys/${'a'.repeat(65)}`), 400, 'invalid_request')
  expectError(t, await callApi(app, admin.apiKey, 'DELETE', `/api/v1/keys/${outsider.keyId}?allow_self=maybe`), 400, 'invalid_request')
  t.equal(await outcome(app, outsider.apiKey), 'accepted', 'the other client\'s key still works')

  const self = await callApi(app, admin.apiKey, 'DELETE', `/api/v1/keys/${admin.keyId}?allow_self=true`)
  t.equal(self.statusCode, 200, 'with allow_self=true the own key is revoked')
  t.match(self.json<RevokedKeyBody>(), { revoked: true, key: { id: admin.keyId, current: true, status: 'revoked' } })
  expectError(t, await callApi(app, admin.apiKey, 'GET', '/api/v1/keys'), 401, 'revoked_api_key')
})

void t.test('PATCH: rename, set and clear the allowlist; the own key is not shut out by accident', async (t) => {
  const { app } = await buildTestApp(t)
  const admin = await manager(app)
  const key = await issueKey(app, 'acme', { name: 'before' })
  t.equal(await outcome(app, key.apiKey), 'accepted', 'used (and so cached) from 127.0.0.1')

  const renamed = await callApi(app, admin.apiKey, 'PATCH', `/api/v1/keys/${key.keyId}`, { name: 'after' })
  t.equal(renamed.statusCode, 200)
  t.match(renamed.json<KeyViewBody>(), { id: key.keyId, name: 'after', allowed_cidrs: null, status: 'active' })
  t.equal((await getKey(app, admin.apiKey, key.keyId)).name, 'after')
  const unnamed = await callApi(app, admin.apiKey, 'PATCH', `/api/v1/keys/${key.keyId}`, { name: null })
  t.equal(unnamed.json<KeyViewBody>().name, null, 'null clears the name')

  const fenced = await callApi(app, admin.apiKey, 'PATCH', `/api/v1/keys/${key.keyId}`, { allowed_cidrs: ['10.0.0.0/8', '2001:db8::/32'] })
  t.equal(fenced.statusCode, 200)
  t.same(fenced.json<KeyViewBody>().allowed_cidrs, ['10.0.0.0/8', '2001:db8::/32'])
  const outside = expectError(t, await callApi(app, key.apiKey, 'GET', '/api/v1/logs'), 403, 'address_not_allowed')
  t.same(outside.details, { address: '127.0.0.1' }, 'names the address it saw')
  expectError(t, await postLogs(app, key.apiKey, entry()), 403, 'address_not_allowed')
  t.equal(await countLogs(app), 0, 'nothing stored from outside')
  t.equal(await outcome(app, key.apiKey, '10.1.2.3'), 'accepted', 'inside the range')
  t.equal(await outcome(app, key.apiKey, '::ffff:10.1.2.3'), 'accepted', 'an IPv4 client seen through an IPv6 socket')
  t.equal(await outcome(app, key.apiKey, '2001:db8:ffff::1'), 'accepted', 'inside the IPv6 range')
  t.equal(await outcome(app, key.apiKey, '11.0.0.1'), 'address_not_allowed')
  t.equal(await outcome(app, key.apiKey, '2001:db9::1'), 'address_not_allowed')

  const opened = await callApi(app, admin.apiKey, 'PATCH', `/api/v1/keys/${key.keyId}`, { allowed_cidrs: null })
  t.equal(opened.json<KeyViewBody>().allowed_cidrs, null, 'null removes the allowlist')
  t.equal(await outcome(app, key.apiKey), 'accepted', 'accepted from anywhere again')
  t.equal(await outcome(app, key.apiKey, '203.0.113.9'), 'accepted')

  const own = `/api/v1/keys/${admin.keyId}`
  for (const url of [own, `${own}?allow_self=false`, `/api/v1/keys/${admin.keyId.toUpperCase()}`]) {
    const refused = expectError(t, await callApi(app, admin.apiKey, 'PATCH', url, { allowed_cidrs: ['10.0.0.0/8'] }), 409, 'own_key')
    t.match(refused.message, /127\.0\.0\.1/, `${url}: names the address that would be shut out`)
  }
  expectError(t, await callApi(app, admin.apiKey, 'PATCH', `${own}?allow-self=true`, { allowed_cidrs: ['10.0.0.0/8'] }), 400, 'invalid_request')
  t.equal((await getKey(app, admin.apiKey, admin.keyId)).allowed_cidrs, null, 'the own key is unchanged')
  t.equal((await callApi(app, admin.apiKey, 'PATCH', own, { name: 'me' })).statusCode, 200, 'renaming the own key needs no flag')
  const including = await callApi(app, admin.apiKey, 'PATCH', own, { allowed_cidrs: ['127.0.0.0/8', '10.0.0.0/8'] })
  t.equal(including.statusCode, 200, 'an allowlist that keeps the caller in needs no flag')
  t.equal(await outcome(app, admin.apiKey), 'accepted')

  const shut = await callApi(app, admin.apiKey, 'PATCH', `${own}?allow_self=true`, { allowed_cidrs: ['10.0.0.0/8'] })
  t.equal(shut.statusCode, 200, 'with allow_self=true the caller may shut itself out')
  expectError(t, await callApi(app, admin.apiKey, 'GET', '/api/v1/keys'), 403, 'address_not_allowed')
  const fromInside = await callApi(app, admin.apiKey, 'PATCH', own, { allowed_cidrs: null }, { remoteAddress: '10.9.8.7' })
  expectError(t, fromInside, 403, 'allowlist_not_grantable')
  const unrestricted = await manager(app)
  const lifted = await callApi(app, unrestricted.apiKey, 'PATCH', own, { allowed_cidrs: null })
  t.equal(lifted.statusCode, 200, 'a restricted key cannot lift its own allowlist; an unrestricted key of the client can')
  t.equal((await callApi(app, admin.apiKey, 'GET', '/api/v1/keys')).statusCode, 200)

  const bodies: Array<[unknown, string]> = [
    [{}, 'invalid_request'], [{ owner: 'x' }, 'invalid_request'], [{ name: '' }, 'invalid_request'], [{ name: 5 }, 'invalid_request'],
    [{ scopes: ['keys:manage'] }, 'invalid_request'], [{ expires_at: null }, 'invalid_request'], [{ allowed_cidrs: [] }, 'invalid_request'],
    [{ allowed_cidrs: '10.0.0.0/8' }, 'invalid_request'], [{ allowed_cidrs: ['bad'] }, 'invalid_allowlist'],
    [{ allowed_cidrs: ['10.0.0.1/8'] }, 'invalid_allowlist'], [[], 'invalid_request']
  ]
  for (const [body, code] of bodies) {
    expectError(t, await callApi(app, admin.apiKey, 'PATCH', `/api/v1/keys/${key.keyId}`, body), 400, code)
  }
  expectError(t, await callApi(app, admin.apiKey, 'PATCH', `/api/v1/keys/${key.keyId}`), 400, 'invalid_request')
  t.match(await getKey(app, admin.apiKey, key.keyId), { name: null, allowed_cidrs: null, scopes: ['logs:write', 'logs:read'] }, 'none of them changed the key')

  const outsider = await issueKey(app, 'globex', { name: 'theirs' })
  const missing = await callApi(app, admin.apiKey, 'PATCH', `/api/v1/keys/${randomUUID()}`, { name: 'x' })
  expectError(t, missing, 404, 'not_found')
  for (const id of [outsider.keyId, 'not-a-uuid']) {
    const res = await callApi(app, admin.apiKey, 'PATCH', `/api/v1/keys/${id}`, { name: 'mine now', allowed_cidrs: ['192.0.2.1/32'] })
    t.same(res.json(), missing.json(), `${id}: 404 as if it did not exist`)
  }
  const theirs = await app.db.selectFrom('api_keys').select(['name', 'allowed_cidrs']).where('id', '=', outsider.keyId).executeTakeFirstOrThrow()
  t.same(theirs, { name: 'theirs', allowed_cidrs: null }, 'the other client\'s key is untouched')
  t.equal(await outcome(app, outsider.apiKey), 'accepted')
})

void t.test('GET /api/v1/keys/:id: own keys only; anything else is the same 404', async (t) => {
  const { app } = await buildTestApp(t)
  const admin = await manager(app)
  const other = await issueKey(app, 'acme')
  const outsider = await issueKey(app, 'globex')
  t.equal((await getKey(app, admin.apiKey, admin.keyId)).current, true)
  t.equal((await getKey(app, admin.apiKey, other.keyId)).current, false)
  t.equal((await getKey(app, admin.apiKey, other.keyId.toUpperCase())).id, other.keyId, 'an id in upper case is the same key')
  const missing = await callApi(app, admin.apiKey, 'GET', `/api/v1/keys/${randomUUID()}`)
  expectError(t, missing, 404, 'not_found')
  for (const id of [outsider.keyId, 'not-a-uuid', '%20', `${other.keyId.slice(0, -1)}`, `{${other.keyId}}`, other.keyId.replaceAll('-', '')]) {
    const res = await callApi(app, admin.apiKey, 'GET', `/api/v1/keys/${id}`)
    t.equal(res.statusCode, 404, `${id}: 404`)
    t.same(res.json(), missing.json(), `${id}: the same body as a key that does not exist`)
  }
})

void t.test('a key makes no key that outlives it or reaches where it cannot', async (t) => {
  const { app } = await buildTestApp(t)
  const inside = { remoteAddress: '192.168.1.1' }
  const expiresAt = new Date(Date.now() + 3_600_000)
  const limited = await manager(app, 'acme', { allowedCidrs: ['192.168.0.0/16'], expiresAt })

  const plain = await callApi(app, limited.apiKey, 'POST', '/api/v1/keys', { scopes: ALL_SCOPES }, inside)
  t.equal(plain.statusCode, 201)
  const made = plain.json<{ key: { expires_at: string | null, allowed_cidrs: string[] | null } }>().key
  t.equal(made.expires_at, expiresAt.toISOString(), 'no expiry asked: the caller\'s')
  t.same(made.allowed_cidrs, ['192.168.0.0/16'], 'no allowlist asked: the caller\'s')
  const longer = await callApi(app, limited.apiKey, 'POST', '/api/v1/keys', { expires_in_seconds: 86_400 * 365 }, inside)
  t.equal(longer.json<{ key: { expires_at: string } }>().key.expires_at, expiresAt.toISOString(), 'a longer life is cut to the caller\'s')
  const narrower = await callApi(app, limited.apiKey, 'POST', '/api/v1/keys', { allowed_cidrs: ['192.168.7.0/24', '192.168.9.9'] }, inside)
  t.same(narrower.json<{ key: { allowed_cidrs: string[] } }>().key.allowed_cidrs, ['192.168.7.0/24', '192.168.9.9/32'], 'a narrower allowlist is kept')

  const wider = await callApi(app, limited.apiKey, 'POST', '/api/v1/keys', { allowed_cidrs: ['192.168.0.0/16', '10.0.0.0/8'] }, inside)
  t.same(expectError(t, wider, 403, 'allowlist_not_grantable').details, { outside: ['10.0.0.0/8'] })
  expectError(t, await callApi(app, limited.apiKey, 'POST', '/api/v1/keys', { allowed_cidrs: null }, inside), 403, 'allowlist_not_grantable')

  const open = await manager(app, 'acme')
  expectError(t, await callApi(app, limited.apiKey, 'PATCH', `/api/v1/keys/${limited.keyId}`, { allowed_cidrs: null }, inside),
    403, 'allowlist_not_grantable')
  expectError(t, await callApi(app, limited.apiKey, 'POST', `/api/v1/keys/${open.keyId}/rotate`, {}, inside),
    403, 'allowlist_not_grantable')
  const rotatedOwn = await callApi(app, limited.apiKey, 'POST', `/api/v1/keys/${limited.keyId}/rotate`, { expires_in_seconds: null }, inside)
  t.equal(rotatedOwn.statusCode, 201)
  t.equal(rotatedOwn.json<{ key: { expires_at: string } }>().key.expires_at, expiresAt.toISOString(), 'a rotated key cannot outlive its caller either')
  t.equal(await app.db.selectFrom('api_keys').select('id').where('allowed_cidrs', 'is', null).execute().then((rows) => rows.length), 1,
    'only the key made unrestricted by the provider is unrestricted')
})

void t.test('PATCH and DELETE reach only keys whose every scope the caller holds, within its allowlist', async (t) => {
  const { app } = await buildTestApp(t)
  const office = { remoteAddress: '198.51.100.7' }
  // A keys:manage-only key fenced into a /24, beside the tenant's admin key and a reader.
  const lesser = await issueKey(app, 'acme', { scopes: ['keys:manage'], allowedCidrs: ['198.51.100.0/24'] })
  const admin = await manager(app, 'acme', { name: 'admin' })
  const reader = await issueKey(app, 'acme', { scopes: ['logs:read'], name: 'reader', allowedCidrs: ['198.51.100.0/25'] })
  const auditBefore = await app.db.selectFrom('audit_events').select('id').execute()

  // Shutting the admin key out to a /32 of the caller's own network.
  const fence = expectError(t, await callApi(app, lesser.apiKey, 'PATCH', `/api/v1/keys/${admin.keyId}`,
    { allowed_cidrs: ['198.51.100.9/32'] }, office), 403, 'scope_not_grantable')
  t.same(fence.details, { scopes: ['logs:write', 'logs:read'] },
    'names the target\'s scopes the caller lacks')
  t.match(fence.message, /logs:write.*logs:read/)
  expectError(t, await callApi(app, lesser.apiKey, 'PATCH', `/api/v1/keys/${admin.keyId}`, { name: 'renamed' }, office), 403, 'scope_not_grantable')
  expectError(t, await callApi(app, lesser.apiKey, 'DELETE', `/api/v1/keys/${admin.keyId}`, undefined, office), 403, 'scope_not_grantable')
  const revoking = expectError(t, await callApi(app, lesser.apiKey, 'DELETE', `/api/v1/keys/${reader.keyId}`, undefined, office),
    403, 'scope_not_grantable')
  t.same(revoking.details, { scopes: ['logs:read'] })
  t.match(await getKey(app, admin.apiKey, admin.keyId), { name: 'admin', allowed_cidrs: null, status: 'active' }, 'the admin key is as it was')
  t.match(await getKey(app, admin.apiKey, reader.keyId), { name: 'reader', status: 'active' }, 'so is the reader')
  t.equal(await outcome(app, admin.apiKey), 'accepted', 'the admin key still works from anywhere')
  t.equal(await outcome(app, reader.apiKey, '198.51.100.8'), 'accepted', 'the reader still works')
  t.equal((await app.db.selectFrom('audit_events').select('id').execute()).length, auditBefore.length, 'nothing was changed, so nothing audited')

  // A key fenced in, with every scope, still cannot reach a key that is allowed from elsewhere.
  const fencedAdmin = await manager(app, 'acme', { allowedCidrs: ['198.51.100.0/24'] })
  const open = await issueKey(app, 'acme', { name: 'open' })
  const elsewhere = await issueKey(app, 'acme', { name: 'elsewhere', allowedCidrs: ['198.51.100.0/25', '203.0.113.0/24'] })
  t.same(expectError(t, await callApi(app, fencedAdmin.apiKey, 'DELETE', `/api/v1/keys/${open.keyId}`, undefined, office),
    403, 'allowlist_not_grantable').details, { outside: null }, 'a key accepted from any address is beyond it')
  t.same(expectError(t, await callApi(app, fencedAdmin.apiKey, 'PATCH', `/api/v1/keys/${elsewhere.keyId}`, { allowed_cidrs: ['198.51.100.0/25'] }, office),
    403, 'allowlist_not_grantable').details, { outside: ['203.0.113.0/24'] }, 'so is one also allowed outside the caller\'s network')
  t.equal(await outcome(app, open.apiKey), 'accepted')
  t.match(await getKey(app, admin.apiKey, elsewhere.keyId), { allowed_cidrs: ['198.51.100.0/25', '203.0.113.0/24'] })

  // Within its reach, and on itself, the lesser key still acts.
  const sibling = await issueKey(app, 'acme', { scopes: ['keys:manage'], allowedCidrs: ['198.51.100.128/25'] })
  const renamed = await callApi(app, lesser.apiKey, 'PATCH', `/api/v1/keys/${sibling.keyId}`, { name: 'sibling' }, office)
  t.equal(renamed.statusCode, 200, 'a key with no more scopes, fenced within, can be changed')
  t.equal((await callApi(app, lesser.apiKey, 'DELETE', `/api/v1/keys/${sibling.keyId}`, undefined, office)).statusCode, 200, 'and revoked')
  t.equal((await callApi(app, fencedAdmin.apiKey, 'DELETE', `/api/v1/keys/${reader.keyId}`, undefined, office)).statusCode, 200,
    'a reader fenced within the caller\'s network is within reach of a fenced admin')
  const self = await callApi(app, lesser.apiKey, 'DELETE', `/api/v1/keys/${lesser.keyId}?allow_self=true`, undefined, office)
  t.equal(self.statusCode, 200, 'a key can always revoke itself: it holds its own scopes')
  t.equal(self.json<RevokedKeyBody>().revoked, true)
})

void t.test('a key in its rotation grace manages nothing but its own revocation', async (t) => {
  const { app } = await buildTestApp(t)
  const admin = await manager(app)
  const other = await issueKey(app, 'acme')
  const rotation = await callApi(app, admin.apiKey, 'POST', `/api/v1/keys/${admin.keyId}/rotate`, { grace_seconds: 3600 })
  const replacement = rotation.json<{ key: { id: string } }>().key.id
  expectError(t, await callApi(app, admin.apiKey, 'POST', '/api/v1/keys', {}), 403, 'key_in_grace')
  expectError(t, await callApi(app, admin.apiKey, 'DELETE', `/api/v1/keys/${replacement}`), 403, 'key_in_grace')
  expectError(t, await callApi(app, admin.apiKey, 'POST', `/api/v1/keys/${other.keyId}/rotate`, {}), 403, 'key_in_grace')
  expectError(t, await callApi(app, admin.apiKey, 'PATCH', `/api/v1/keys/${other.keyId}`, { name: 'x' }), 403, 'key_in_grace')
  t.equal((await callApi(app, admin.apiKey, 'GET', '/api/v1/keys')).statusCode, 200, 'reading is still allowed')
  const own = await callApi(app, admin.apiKey, 'DELETE', `/api/v1/keys/${admin.keyId}?allow_self=true`)
  t.equal(own.statusCode, 200, 'ending its own grace early is allowed')
  t.equal(await app.db.selectFrom('api_keys').select('id').where('revoked_at', 'is', null).execute().then((rows) => rows.length), 2,
    'the replacement and the other key are untouched')
})

void t.test('a name that could disguise what a terminal shows is refused: 400 invalid_name, naming the character', async (t) => {
  const { app } = await buildTestApp(t)
  const admin = await manager(app, 'acme', { name: 'admin' })
  const before = await keyCount(app)
  // Erases the provider's line, prints a fake one in red and retitles the window.
  const disguised = 'ok\r\u001b[2K\u001b[31mFAKE LINE\u2026\u001b]0;owned\u0007'
  const created = expectError(t, await callApi(app, admin.apiKey, 'POST', '/api/v1/keys', { name: disguised }), 400, 'invalid_name')
  t.same(created.details, { field: 'name', character: 'U+000D', position: 3 })
  t.match(created.message, /U\+000D \(a control character\) at character 3/)
  const refusedAs: Record<string, string> = {
    '\u0000': 'control character',
    '\t': 'control character',
    '\n': 'control character',
    '\u001b': 'control character',
    '\u007f': 'control character',
    '\u0085': 'control character',
    '\u009b': 'control character',
    '\u2028': 'line or paragraph separator',
    '\u2029': 'line or paragraph separator',
    '\u202a': 'bidirectional formatting character',
    '\u202e': 'bidirectional formatting character',
    '\u2066': 'bidirectional formatting character',
    '\u2069': 'bidirectional formatting character'
  }
  for (const [char, kind] of Object.entries(refusedAs)) {
    const code = `U+${char.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`
    for (const [method, url] of [['POST', '/api/v1/keys'], ['PATCH', `/api/v1/keys/${admin.keyId}`]] as const) {
      const body = expectError(t, await callApi(app, admin.apiKey, method, url, { name: `ci${char}x` }), 400, 'invalid_name')
      t.same(body.details, { field: 'name', character: code, position: 3 }, `${method}: ${code} named`)
      t.match(body.message, kind)
    }
  }
  const lone = expectError(t, await callApi(app, admin.apiKey, 'PATCH', `/api/v1/keys/${admin.keyId}`, { name: 'a\udc00' }), 400, 'invalid_name')
  t.same(lone.details, { field: 'name' })
  t.match(lone.message, /unpaired surrogate/)
  t.equal(await keyCount(app), before, 'no key created')
  t.equal((await getKey(app, admin.apiKey, admin.keyId)).name, 'admin', 'no key renamed')

  for (const name of ['Société Générale — 東京 \u{1f511}', 'שלום עולם', 'tab-free, quote "ok" and \\ backslash']) {
    const made = await callApi(app, admin.apiKey, 'POST', '/api/v1/keys', { name })
    t.equal(made.statusCode, 201, `printable text of any script is a name: ${made.body.slice(0, 80)}`)
    t.equal(made.json<CreatedKeyBody>().key.name, name)
  }
  t.equal((await callApi(app, admin.apiKey, 'PATCH', `/api/v1/keys/${admin.keyId}`, { name: null })).statusCode, 200, 'null clears it')
})

void t.test('a NUL in a name is bad input, not a server error', async (t) => {
  const { app } = await buildTestApp(t)
  const admin = await manager(app)
  expectError(t, await callApi(app, admin.apiKey, 'POST', '/api/v1/keys', { name: 'a\u0000b' }), 400)
  expectError(t, await callApi(app, admin.apiKey, 'PATCH', `/api/v1/keys/${admin.keyId}`, { name: 'a\u0000b' }), 400)
})
