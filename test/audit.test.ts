// GET /api/v1/audit over real PostgreSQL: key events with who did them and
// from where, authentication failures of the client's own keys (written in
// batches), nothing of other clients or of keys nobody owns, paging and
// filters, and a table that refuses to be rewritten.
import { sql } from 'kysely'
import type { FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import type { AuditEventBody, AuditPageBody } from '../src/audit/routes.ts'
import { generateKey } from '../src/keys/format.ts'
import type { CreatedKeyBody, RotatedKeyBody } from '../src/keys/schemas.ts'
import type { Scope } from '../src/keys/scopes.ts'
import { keys, parsed } from './cli/run.ts'
import { buildTestApp, callApi, entry, expectError, issueKey, KEY_SHAPE, postLogs, type IssuedKey } from './helper.ts'

const ALL_SCOPES: Scope[] = ['keys:manage', 'logs:write', 'logs:read']
const ADMIN_ADDRESS = '192.0.2.10'
// The recorders flush only when told to, so that each test decides when the batch lands.
const NO_TIMED_FLUSH = { USAGE_FLUSH_SECONDS: '300' }

async function auditOf (t: Test, app: FastifyInstance, key: IssuedKey, query = ''): Promise<AuditEventBody[]> {
  const res = await callApi(app, key.apiKey, 'GET', `/api/v1/audit?limit=1000${query}`)
  if (res.statusCode !== 200) throw new Error(`GET /api/v1/audit answered ${res.statusCode}: ${res.body}`)
  t.notMatch(res.body, KEY_SHAPE, 'no key in the audit trail')
  return res.json<AuditPageBody>().data
}

async function auditRows (app: FastifyInstance): Promise<number> {
  const row = await app.db.selectFrom('audit_events').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()
  return Number(row.n)
}

void t.test('key changes are audited with the acting key and its address, never the key itself', async (t) => {
  const { app } = await buildTestApp(t, NO_TIMED_FLUSH)
  const admin = await issueKey(app, 'acme', { scopes: ALL_SCOPES })
  const target = await issueKey(app, 'acme', { name: 'deploy' })
  const doomed = await issueKey(app, 'acme')
  const as = { remoteAddress: ADMIN_ADDRESS }

  const created = (await callApi(app, admin.apiKey, 'POST', '/api/v1/keys', { name: 'new', scopes: ['logs:write'] }, as)).json<CreatedKeyBody>()
  const rotated = (await callApi(app, admin.apiKey, 'POST', `/api/v1/keys/${target.keyId}/rotate`, { grace_seconds: 60 }, as)).json<RotatedKeyBody>()
  t.equal((await callApi(app, admin.apiKey, 'DELETE', `/api/v1/keys/${doomed.keyId}`, undefined, as)).statusCode, 200)
  t.equal((await callApi(app, admin.apiKey, 'DELETE', `/api/v1/keys/${doomed.keyId}`, undefined, as)).statusCode, 200, 'revoked twice')
  const patch = { name: 'renamed', allowed_cidrs: ['10.0.0.0/8'] }
  t.equal((await callApi(app, admin.apiKey, 'PATCH', `/api/v1/keys/${created.key.id}`, patch, as)).statusCode, 200)

  const events = await auditOf(t, app, admin)
  t.same(events.map((event) => [event.event, event.key_id]), [
    ['key.updated', created.key.id],
    ['key.revoked', doomed.keyId],
    ['key.created', rotated.key.id],
    ['key.rotated', target.keyId],
    ['key.created', created.key.id]
  ], 'each change once (the second revocation changed nothing), newest first')
  for (const event of events) {
    t.match(event, { actor: `key:${admin.keyId}`, address: ADMIN_ADDRESS, reason: null }, `${event.event}: who and from where`)
    t.match(event.id, /^[0-9]+$/)
    t.ok(Math.abs(Date.parse(event.occurred_at) - Date.now()) < 60_000, `${event.event}: occurred just now`)
    t.same(Object.keys(event).sort(), ['actor', 'address', 'details', 'event', 'id', 'key_id', 'key_prefix', 'occurred_at', 'reason'])
  }
  const ids = events.map((event) => Number(event.id))
  t.same(ids, [...ids].sort((a, b) => b - a), 'ids decrease down the page')
  const [updated, revoked, rotationCreated, rotation, creation] = events as [AuditEventBody, AuditEventBody, AuditEventBody, AuditEventBody, AuditEventBody]
  t.equal(creation.key_prefix, created.key.prefix, 'the prefix names the key')
  t.same(creation.details, { scopes: ['logs:write'], expires_at: null, allowed_cidrs: null })
  t.match(rotation.details, { replaced_by: rotated.key.id, grace_seconds: 60, grace_ends_at: rotated.previous.grace_ends_at })
  t.match(rotationCreated.details, { rotated_from: target.keyId, scopes: ['logs:write', 'logs:read'] })
  t.equal(revoked.details, null)
  t.same(updated.details, { name: { from: 'new', to: 'renamed' }, allowed_cidrs: { from: null, to: ['10.0.0.0/8'] } })

  // What is refused leaves no trace in the trail.
  const before = await auditRows(app)
  const outsider = await issueKey(app, 'globex')
  expectError(t, await callApi(app, admin.apiKey, 'DELETE', `/api/v1/keys/${admin.keyId}`), 409, 'own_key')
  expectError(t, await callApi(app, admin.apiKey, 'DELETE', `/api/v1/keys/${outsider.keyId}`), 404, 'not_found')
  expectError(t, await callApi(app, admin.apiKey, 'PATCH', `/api/v1/keys/${outsider.keyId}`, { name: 'x' }), 404, 'not_found')
  expectError(t, await callApi(app, admin.apiKey, 'POST', `/api/v1/keys/${target.keyId}/rotate`, {}), 409, 'key_already_rotated')
  expectError(t, await callApi(app, admin.apiKey, 'POST', '/api/v1/keys', { scopes: [] }), 400, 'invalid_request')
  expectError(t, await callApi(app, admin.apiKey, 'PATCH', `/api/v1/keys/${admin.keyId}`, { allowed_cidrs: ['10.0.0.0/8'] }), 409, 'own_key')
  t.equal(await auditRows(app), before, 'no event for a refused change')

  const stored = await app.db.selectFrom('audit_events').selectAll().execute()
  const plaintexts = [admin.apiKey, target.apiKey, doomed.apiKey, created.api_key, rotated.api_key]
  t.notOk(plaintexts.some((key) => JSON.stringify(stored).includes(key.slice(4))), 'the stored trail holds no key')
  t.ok(stored.every((row) => row.client_id === admin.clientId), 'every event names the client')
})

void t.test('authentication failures of the client\'s keys appear once flushed; those of keys nobody owns never do', async (t) => {
  const { app } = await buildTestApp(t, NO_TIMED_FLUSH)
  const admin = await issueKey(app, 'acme', { scopes: ALL_SCOPES })
  const revoked = await issueKey(app, 'acme')
  const expired = await issueKey(app, 'acme', { expiresAt: new Date(Date.now() - 60_000) })
  const fenced = await issueKey(app, 'acme', { allowedCidrs: ['10.0.0.0/8'] })
  const retired = await issueKey(app, 'acme')
  const other = await issueKey(app, 'globex', { scopes: ALL_SCOPES })
  const otherRevoked = await issueKey(app, 'globex')
  t.equal((await callApi(app, admin.apiKey, 'DELETE', `/api/v1/keys/${revoked.keyId}`)).statusCode, 200)
  t.equal((await callApi(app, admin.apiKey, 'POST', `/api/v1/keys/${retired.keyId}/rotate`, { grace_seconds: 0 })).statusCode, 201)
  t.equal((await callApi(app, other.apiKey, 'DELETE', `/api/v1/keys/${otherRevoked.keyId}`)).statusCode, 200)

  const from = { remoteAddress: '198.51.100.20' }
  for (let i = 0; i < 3; i++) expectError(t, await callApi(app, revoked.apiKey, 'GET', '/api/v1/logs', undefined, from), 401, 'revoked_api_key')
  expectError(t, await postLogs(app, revoked.apiKey, entry()), 401, 'revoked_api_key')
  expectError(t, await callApi(app, expired.apiKey, 'GET', '/api/v1/logs', undefined, from), 401, 'expired_api_key')
  expectError(t, await callApi(app, retired.apiKey, 'GET', '/api/v1/logs', undefined, from), 401, 'rotated_api_key')
  expectError(t, await postLogs(app, fenced.apiKey, entry()), 403, 'address_not_allowed')
  expectError(t, await callApi(app, otherRevoked.apiKey, 'GET', '/api/v1/logs', undefined, from), 401, 'revoked_api_key')
  const unknown = generateKey()
  expectError(t, await callApi(app, unknown, 'GET', '/api/v1/logs', undefined, from), 401, 'invalid_api_key')
  expectError(t, await callApi(app, `${admin.apiKey.slice(0, -1)}${admin.apiKey.endsWith('a') ? 'b' : 'a'}`, 'GET', '/api/v1/keys'), 401, 'malformed_api_key')
  expectError(t, await app.inject({ method: 'GET', url: '/api/v1/audit' }), 401, 'missing_api_key')

  t.same((await auditOf(t, app, admin, '&event=auth.failed')), [], 'nothing before the batch is written')
  await app.audit.flush()

  const seen = await auditOf(t, app, admin)
  const failures = seen.filter((event) => event.actor === 'service')
  const writeFailure = failures.find((event) => event.reason === 'revoked_api_key' && event.details?.method === 'POST')
  const byReason = new Map(failures.filter((event) => event !== writeFailure).map((event) => [event.reason, event]))
  t.same([...byReason.keys()].sort(), ['address_not_allowed', 'expired_api_key', 'revoked_api_key', 'rotated_api_key'],
    'the failures of this client\'s keys, and nothing else')
  t.equal(failures.length, 5, 'three identical failures are one event')
  t.match(byReason.get('revoked_api_key'), {
    event: 'auth.failed',
    key_id: revoked.keyId,
    address: '198.51.100.20',
    details: { method: 'GET', route: '/api/v1/logs', count: 3 }
  }, 'a revoked key in use: which key, from where, how often')
  t.match(writeFailure, { event: 'auth.failed', key_id: revoked.keyId, address: '127.0.0.1', details: { method: 'POST', route: '/api/v1/logs' } },
    'a failure on another route or address is an event of its own, with its own details')
  t.equal(writeFailure?.details?.count, undefined, 'counted once, so without a count')
  t.ok(revoked.apiKey.startsWith(byReason.get('revoked_api_key')?.key_prefix ?? 'none'), 'and its prefix')
  t.match(byReason.get('expired_api_key'), { event: 'key.expired_in_use', key_id: expired.keyId, address: '198.51.100.20' })
  t.match(byReason.get('rotated_api_key'), { event: 'key.expired_in_use', key_id: retired.keyId })
  t.match(byReason.get('address_not_allowed'), { event: 'auth.failed', key_id: fenced.keyId, address: '127.0.0.1', details: { method: 'POST' } })

  const theirs = (await auditOf(t, app, other)).filter((event) => event.actor === 'service')
  t.same(theirs.map((event) => [event.reason, event.key_id]), [['revoked_api_key', otherRevoked.keyId]], 'the other client sees its own failure only')

  const anyone = await app.db.selectFrom('audit_events').select(['reason', 'key_prefix']).where('client_id', 'is', null).execute()
  t.same(anyone.map((row) => row.reason).sort(), ['invalid_api_key', 'malformed_api_key', 'missing_api_key'],
    'failures without a client are recorded, for the provider')
  for (const key of [admin, other]) {
    const shown = JSON.stringify(await auditOf(t, app, key))
    t.notOk(shown.includes(unknown.slice(0, 12)), 'the unknown key\'s prefix is shown to no client')
    t.notMatch(shown, /invalid_api_key|malformed_api_key|missing_api_key/, 'nor any failure that names no client')
  }
  const everything = await app.db.selectFrom('audit_events').selectAll().execute()
  t.notOk(JSON.stringify(everything).includes(unknown.slice(4)), 'the unknown key itself is stored nowhere')
  t.notOk(JSON.stringify(everything).includes(revoked.apiKey.slice(4)), 'nor the revoked one')

  await app.audit.flush()
  t.equal((await auditOf(t, app, admin)).length, seen.length, 'a second flush writes nothing again')
})

void t.test('a flood of made-up keys from many addresses hides none of a client\'s own refusals', async (t) => {
  const { app, databaseUrl } = await buildTestApp(t, NO_TIMED_FLUSH)
  const admin = await issueKey(app, 'acme', { scopes: ALL_SCOPES })
  const fenced = await issueKey(app, 'acme', { scopes: ['logs:write'], allowedCidrs: ['10.0.0.0/8'] })
  const refusedFrom: string[] = []
  const refuse = async (address: string): Promise<void> => {
    expectError(t, await callApi(app, fenced.apiKey, 'POST', '/api/v1/logs', entry(), { remoteAddress: address }), 403, 'address_not_allowed')
    refusedFrom.push(address)
  }
  // Refused before any lookup (no checksum), each from an address of its own: one distinct row each.
  const madeUp = async (index: number): Promise<void> => {
    const res = await callApi(app, 'clk_madeup', 'POST', '/api/v1/logs', entry(), { remoteAddress: `198.18.${index >> 8}.${index & 255}` })
    if (res.statusCode !== 401) throw new Error(`a made-up key answered ${res.statusCode}`)
  }
  // While 1,100 made-up keys come from as many addresses, the client's key is
  // used 20 times from outside its allowlist: 4 early, 16 once the flood has
  // passed the 1,000 distinct rows an interval keeps for failures nobody owns.
  for (let i = 0; i < 1100; i++) {
    await madeUp(i)
    if (i % 100 === 50 && refusedFrom.length < 4) await refuse(`203.0.113.${refusedFrom.length + 1}`)
  }
  while (refusedFrom.length < 20) await refuse(`203.0.113.${refusedFrom.length + 1}`)
  await app.audit.flush()

  // What the rows count: a row its `count` (1 when absent), an overflow row its sum for the reason.
  const refusals = (events: AuditEventBody[]): number => events.reduce((sum, event) => sum + (event.reason === 'too_many_distinct_failures'
    ? Number((event.details?.reasons as Record<string, number> | undefined)?.address_not_allowed ?? 0)
    : event.reason === 'address_not_allowed' ? Number(event.details?.count ?? 1) : 0), 0)
  const trail = await auditOf(t, app, admin, '&event=auth.failed')
  t.equal(refusals(trail), 20, 'all 20 refusals are in the client\'s trail')
  t.same(trail.map((event) => event.address).sort(), [...refusedFrom].sort(), 'each with its address')
  t.ok(trail.every((event) => event.key_id === fenced.keyId), 'and the key that was refused')
  const cli = await keys(databaseUrl, ['audit', '--client', 'acme', '--event', 'auth.failed', '--json'])
  t.equal(cli.code, 0, cli.stderr)
  const provider = parsed<{ events: AuditEventBody[] }>(cli).events
  t.equal(refusals(provider), 20, 'and in the provider\'s view of the client')
  const usage = parsed<{ unattributed_auth_failures: Array<{ failures: number }> }>(await keys(databaseUrl, ['usage', '--json']))
  t.same(usage.unattributed_auth_failures.map((day) => day.failures), [1100], 'every made-up key is counted, the overflow included')

  // Past the cap of distinct rows a client has per interval, its refusals are
  // summed into an overflow row of its own, which it sees too.
  for (let i = 0; i < 130; i++) {
    const res = await callApi(app, fenced.apiKey, 'POST', '/api/v1/logs', entry(), { remoteAddress: `203.0.114.${i}` })
    t.equal(res.statusCode, 403)
  }
  await app.audit.flush()
  const next = (await auditOf(t, app, admin, '&event=auth.failed')).slice(0, 101)
  t.equal(refusals(next), 130, 'the counts add up: 100 rows and an overflow row of 30')
  const overflow = next.find((event) => event.reason === 'too_many_distinct_failures')
  t.match(overflow, { key_id: fenced.keyId, address: null, details: { count: 30, reasons: { address_not_allowed: 30 } } },
    'the overflow row names the client\'s key and the reasons it sums')
})

void t.test('paging with next_cursor and limit, the event and since filters, and what the query refuses', async (t) => {
  const { app } = await buildTestApp(t, NO_TIMED_FLUSH)
  const admin = await issueKey(app, 'acme', { scopes: ALL_SCOPES })
  const other = await issueKey(app, 'globex', { scopes: ALL_SCOPES })
  const key = await issueKey(app, 'acme')
  for (let i = 1; i <= 7; i++) {
    t.equal((await callApi(app, admin.apiKey, 'PATCH', `/api/v1/keys/${key.keyId}`, { name: `name ${i}` })).statusCode, 200)
    // Interleaved events of another client must not disturb the pages.
    t.equal((await callApi(app, other.apiKey, 'POST', '/api/v1/keys', { name: `theirs ${i}` })).statusCode, 201)
  }
  t.equal((await callApi(app, admin.apiKey, 'POST', '/api/v1/keys', {})).statusCode, 201)
  const all = await auditOf(t, app, admin)
  t.equal(all.length, 8)

  const walked: AuditEventBody[] = []
  let cursor: string | null = null
  let pages = 0
  do {
    const res = await callApi(app, admin.apiKey, 'GET', `/api/v1/audit?limit=3${cursor === null ? '' : `&cursor=${cursor}`}`)
    t.equal(res.statusCode, 200)
    const page: AuditPageBody = res.json<AuditPageBody>()
    t.ok(page.data.length <= 3, 'at most limit events a page')
    walked.push(...page.data)
    cursor = page.next_cursor
    pages++
  } while (cursor !== null && pages < 10)
  t.equal(pages, 3, '8 events in pages of 3')
  t.same(walked, all, 'the pages together are the whole trail, in order, without repeats')
  const exact = (await callApi(app, admin.apiKey, 'GET', '/api/v1/audit?limit=8')).json<AuditPageBody>()
  t.equal(exact.next_cursor, null, 'no next page when the last page is exactly full')
  t.equal((await callApi(app, admin.apiKey, 'GET', '/api/v1/audit?cursor=0')).json<AuditPageBody>().data.length, 0, 'nothing before the first id')

  const updates = await auditOf(t, app, admin, '&event=key.updated')
  t.equal(updates.length, 7, 'the event filter')
  t.ok(updates.every((event) => event.event === 'key.updated'))
  t.same((await auditOf(t, app, admin, '&event=key.created')).map((event) => event.event), ['key.created'])
  t.same(await auditOf(t, app, admin, '&event=auth.failed'), [])
  const firstUpdates = (await callApi(app, admin.apiKey, 'GET', '/api/v1/audit?event=key.updated&limit=2')).json<AuditPageBody>()
  const moreUpdates = await auditOf(t, app, admin, `&event=key.updated&cursor=${firstUpdates.next_cursor!}`)
  t.same([...firstUpdates.data, ...moreUpdates], updates, 'the cursor pages within a filter')

  const since = all[3]!.occurred_at
  const recent = await auditOf(t, app, admin, `&since=${encodeURIComponent(since)}`)
  t.same(recent, all.filter((event) => Date.parse(event.occurred_at) >= Date.parse(since)), 'since keeps events at or after it')
  t.ok(recent.length >= 4, 'the event named and the newer ones')
  t.same(await auditOf(t, app, admin, `&since=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`), [], 'nothing from the future')
  t.same(await auditOf(t, app, admin, '&since=2000-01-01T00:00:00Z'), all)
  t.same(await auditOf(t, app, admin, '&since=2000-01-01T00:00:00%2B02:00&event=key.created'), all.filter((event) => event.event === 'key.created'))

  const refused = [
    'cursor=abc', 'cursor=-1', 'cursor=1.5', 'cursor=1234567890123456', 'cursor=', 'limit=0', 'limit=1001', 'limit=ten',
    'event=key.deleted', 'event=KEY.CREATED', 'since=yesterday', 'since=2026-13-01T00:00:00Z', 'since=2026-11-20', 'since=2026-12-31T23:59:60Z',
    'client_id=' + other.clientId, 'order=asc'
  ]
  for (const query of refused) {
    t.comment(query)
    expectError(t, await callApi(app, admin.apiKey, 'GET', `/api/v1/audit?${query}`), 400, 'invalid_request')
  }
})

void t.test('the audit_events table refuses UPDATE, DELETE and TRUNCATE', async (t) => {
  const { app } = await buildTestApp(t, NO_TIMED_FLUSH)
  const admin = await issueKey(app, 'acme', { scopes: ALL_SCOPES })
  t.equal((await callApi(app, admin.apiKey, 'POST', '/api/v1/keys', {})).statusCode, 201)
  const before = await app.db.selectFrom('audit_events').selectAll().execute()
  t.equal(before.length, 1)

  await t.rejects(sql`update audit_events set actor = 'someone else'`.execute(app.db), /append-only: UPDATE refused/)
  await t.rejects(sql`update audit_events set client_id = null where id = ${before[0]!.id}`.execute(app.db), /append-only/)
  await t.rejects(sql`delete from audit_events`.execute(app.db), /append-only: DELETE refused/)
  await t.rejects(sql`truncate audit_events`.execute(app.db), /append-only: TRUNCATE refused/)
  await t.rejects(app.db.deleteFrom('audit_events').where('id', '=', before[0]!.id).execute(), /append-only/)
  await t.rejects(app.db.transaction().execute(async (trx) => { await sql`delete from audit_events`.execute(trx) }), /append-only/)
  t.same(await app.db.selectFrom('audit_events').selectAll().execute(), before, 'the trail is as it was')
  t.same((await auditOf(t, app, admin)).map((event) => event.event), ['key.created'])
})
