// A rotated key keeps working until its grace ends, and not a moment longer;
// never past its own expiry. And the rules that decide it (status.ts), at
// their edges.
import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import t from 'tap'
import type { Test } from 'tap'
import type { KeyView } from '../../src/keys/present.ts'
import type { Scope } from '../../src/keys/scopes.ts'
import { endOf, refusalError, refusalOf, statusOf, type KeyTimes } from '../../src/keys/status.ts'
import { buildTestApp, expectError, issueKey } from '../helper.ts'

interface RotatedBody { api_key: string, key: KeyView, previous: KeyView }

/** Refused once its end has passed, within this much: the polling interval and a loaded machine. */
const LATE_MS = 500
const POLL_MS = 20
// Rotation hands out a key with the old one's scopes: the caller must hold them all.
const MANAGER_SCOPES: Scope[] = ['keys:manage', 'logs:write', 'logs:read']

async function read (app: FastifyInstance, apiKey: string): Promise<LightMyRequestResponse> {
  return await app.inject({ method: 'GET', url: '/api/v1/logs?limit=1', headers: { 'x-api-key': apiKey } })
}

async function rotate (app: FastifyInstance, manager: string, keyId: string, body: object): Promise<RotatedBody> {
  const res = await app.inject({
    method: 'POST',
    url: `/api/v1/keys/${keyId}/rotate`,
    headers: { 'x-api-key': manager },
    payload: body
  })
  if (res.statusCode !== 201) throw new Error(`rotate answered ${res.statusCode}: ${res.body}`)
  return res.json<RotatedBody>()
}

/**
 * Asks with the key every ~20 ms until it is refused. Every accepted request
 * was sent before `end` (the service decided at a moment no earlier than the
 * sending), and the refusal answered after it.
 */
async function pollUntilRefused (t: Test, app: FastifyInstance, apiKey: string, end: number): Promise<{ res: LightMyRequestResponse, answeredAt: number }> {
  const deadline = end + 5000
  for (;;) {
    const sentAt = Date.now()
    const res = await read(app, apiKey)
    const answeredAt = Date.now()
    if (res.statusCode !== 200) {
      t.ok(answeredAt >= end, `refused at ${answeredAt - end} ms from the end: not before it`)
      t.ok(answeredAt < end + LATE_MS, `refused at ${answeredAt - end} ms from the end: less than ${LATE_MS} ms after it`)
      return { res, answeredAt }
    }
    if (sentAt >= end) {
      t.fail(`accepted a request sent ${sentAt - end} ms after the end`)
    }
    if (answeredAt > deadline) throw new Error('the key was never refused')
    await sleep(POLL_MS)
  }
}

async function keyView (app: FastifyInstance, manager: string, keyId: string): Promise<KeyView> {
  const res = await app.inject({ method: 'GET', url: `/api/v1/keys/${keyId}`, headers: { 'x-api-key': manager } })
  return res.json<KeyView>()
}

void t.test('a key rotated with grace_seconds 2 works for 2 s, then is refused as rotated', async (t) => {
  const { app } = await buildTestApp(t)
  const old = await issueKey(app, 'acme')
  const manager = await issueKey(app, 'acme', { scopes: MANAGER_SCOPES })
  t.equal((await read(app, old.apiKey)).statusCode, 200, 'accepted (and cached) before the rotation')

  const rotation = await rotate(app, manager.apiKey, old.keyId, { grace_seconds: 2 })
  const rotatedAt = Date.parse(rotation.previous.rotated_at!)
  const graceEnd = Date.parse(rotation.previous.grace_ends_at!)
  t.equal(graceEnd - rotatedAt, 2000, 'grace_ends_at is 2 s after rotated_at')
  t.equal(rotation.previous.status, 'grace')
  t.equal(rotation.previous.replaced_by, rotation.key.id)
  t.equal(rotation.key.status, 'active')

  t.equal((await read(app, old.apiKey)).statusCode, 200, 'the old key works at once after the rotation')
  t.equal((await read(app, rotation.api_key)).statusCode, 200, 'so does the new one')
  await sleep(rotatedAt + 1000 - Date.now())
  const sentAt = Date.now()
  t.equal((await read(app, old.apiKey)).statusCode, 200, `the old key still works ${sentAt - rotatedAt} ms after the rotation`)

  const { res } = await pollUntilRefused(t, app, old.apiKey, graceEnd)
  expectError(t, res, 401, 'rotated_api_key')
  t.equal((await read(app, rotation.api_key)).statusCode, 200, 'the new key works on')
  t.equal((await keyView(app, manager.apiKey, old.keyId)).status, 'rotated', 'the old key is listed as rotated')
  expectError(t, await read(app, old.apiKey), 401, 'rotated_api_key')
})

void t.test('a rotation grace never outlasts the key\'s own expiry', async (t) => {
  const { app } = await buildTestApp(t)
  const old = await issueKey(app, 'acme', { expiresAt: new Date(Date.now() + 1500) })
  const manager = await issueKey(app, 'acme', { scopes: MANAGER_SCOPES })
  t.equal((await read(app, old.apiKey)).statusCode, 200)

  // The new key would otherwise inherit the old one's 1.5 s lifetime.
  const rotation = await rotate(app, manager.apiKey, old.keyId, { grace_seconds: 86_400, expires_in_seconds: null })
  const expiresAt = Date.parse(rotation.previous.expires_at!)
  t.ok(Date.parse(rotation.previous.grace_ends_at!) - expiresAt > 86_000_000, 'the grace runs a day past the expiry')
  t.equal(rotation.previous.status, 'grace')
  t.equal(rotation.key.expires_at, null, 'the new key never expires')
  t.equal((await read(app, old.apiKey)).statusCode, 200, 'the old key works during its grace')

  const { res } = await pollUntilRefused(t, app, old.apiKey, expiresAt)
  expectError(t, res, 401, 'expired_api_key')
  t.equal((await keyView(app, manager.apiKey, old.keyId)).status, 'expired', 'listed as expired, not in grace')
  t.equal((await read(app, rotation.api_key)).statusCode, 200, 'the new key works')
})

void t.test('a rotated key cannot be rotated again, nor an expired one at all', async (t) => {
  const { app } = await buildTestApp(t)
  const old = await issueKey(app, 'acme')
  const expired = await issueKey(app, 'acme', { expiresAt: new Date(Date.now() - 1000) })
  const manager = await issueKey(app, 'acme', { scopes: MANAGER_SCOPES })
  const rotation = await rotate(app, manager.apiKey, old.keyId, { grace_seconds: 60 })
  const again = await app.inject({ method: 'POST', url: `/api/v1/keys/${old.keyId}/rotate`, headers: { 'x-api-key': manager.apiKey }, payload: {} })
  expectError(t, again, 409, 'key_already_rotated')
  t.match(again.json(), { details: { replaced_by: rotation.key.id } })
  const late = await app.inject({ method: 'POST', url: `/api/v1/keys/${expired.keyId}/rotate`, headers: { 'x-api-key': manager.apiKey }, payload: {} })
  expectError(t, late, 409, 'key_not_active')
})

void t.test('status.ts at its edges', async (t) => {
  const base = Date.UTC(2026, 10, 27, 12, 0, 0)
  const at = (ms: number): Date => new Date(base + ms)
  const key = (times: Partial<Record<keyof KeyTimes, number>>): KeyTimes => ({
    revoked_at: times.revoked_at === undefined ? null : at(times.revoked_at),
    expires_at: times.expires_at === undefined ? null : at(times.expires_at),
    grace_ends_at: times.grace_ends_at === undefined ? null : at(times.grace_ends_at)
  })
  /** [description, key, moment, expected refusal, expected status] */
  const cases: Array<[string, KeyTimes, number, string | undefined, string]> = [
    ['a plain key', key({}), 0, undefined, 'active'],
    ['before its expiry', key({ expires_at: 1000 }), 999, undefined, 'active'],
    ['at the very instant of its expiry', key({ expires_at: 1000 }), 1000, 'expired', 'expired'],
    ['after its expiry', key({ expires_at: 1000 }), 5000, 'expired', 'expired'],
    ['in its grace, no expiry', key({ grace_ends_at: 1000 }), 999, undefined, 'grace'],
    ['at the end of its grace', key({ grace_ends_at: 1000 }), 1000, 'rotated', 'rotated'],
    ['grace ends before expiry: at the grace end', key({ grace_ends_at: 1000, expires_at: 2000 }), 1000, 'rotated', 'rotated'],
    ['grace ends before expiry: after the expiry too', key({ grace_ends_at: 1000, expires_at: 2000 }), 3000, 'rotated', 'rotated'],
    ['grace equal to expiry: just before', key({ grace_ends_at: 1000, expires_at: 1000 }), 999, undefined, 'grace'],
    ['grace equal to expiry: at that instant it expired', key({ grace_ends_at: 1000, expires_at: 1000 }), 1000, 'expired', 'expired'],
    ['grace past the expiry: before the expiry', key({ grace_ends_at: 5000, expires_at: 1000 }), 500, undefined, 'grace'],
    ['grace past the expiry: between the two', key({ grace_ends_at: 5000, expires_at: 1000 }), 3000, 'expired', 'expired'],
    ['grace past the expiry: after both', key({ grace_ends_at: 5000, expires_at: 1000 }), 9000, 'expired', 'expired'],
    ['revoked', key({ revoked_at: 0 }), 0, 'revoked', 'revoked'],
    ['revoked and expired', key({ revoked_at: 2000, expires_at: 1000 }), 3000, 'revoked', 'revoked'],
    ['revoked in its grace', key({ revoked_at: 500, grace_ends_at: 1000 }), 600, 'revoked', 'revoked'],
    ['revoked after its grace ended', key({ revoked_at: 2000, grace_ends_at: 1000 }), 3000, 'revoked', 'revoked'],
    ['a revocation dated later is not yet in force', key({ revoked_at: 1000 }), 999, undefined, 'active'],
    ['a revocation dated later, in a grace', key({ revoked_at: 1000, grace_ends_at: 2000 }), 999, undefined, 'grace']
  ]
  for (const [description, times, moment, refusal, status] of cases) {
    t.equal(refusalOf(times, at(moment)), refusal, `refusalOf: ${description}`)
    t.equal(statusOf(times, at(moment)), status, `statusOf: ${description}`)
  }

  t.equal(endOf(key({})), null, 'no end')
  t.same(endOf(key({ expires_at: 1000 })), at(1000), 'the expiry')
  t.same(endOf(key({ grace_ends_at: 1000 })), at(1000), 'the grace end')
  t.same(endOf(key({ grace_ends_at: 1000, expires_at: 2000 })), at(1000), 'the grace end, when first')
  t.same(endOf(key({ grace_ends_at: 3000, expires_at: 2000 })), at(2000), 'the expiry, when first')
  t.same(endOf(key({ grace_ends_at: 2000, expires_at: 2000 })), at(2000), 'either, when equal')
  t.same(endOf(key({ revoked_at: 0 })), null, 'a revocation is no end by itself: it is a refusal')

  const now = new Date()
  t.equal(refusalOf(key({})), undefined, 'now is the default moment')
  t.equal(refusalOf({ revoked_at: null, expires_at: new Date(now.getTime() - 1), grace_ends_at: null }), 'expired')
  t.equal(statusOf({ revoked_at: null, expires_at: null, grace_ends_at: new Date(now.getTime() + 60_000) }), 'grace')

  for (const [refusal, code] of [['revoked', 'revoked_api_key'], ['rotated', 'rotated_api_key'], ['expired', 'expired_api_key']] as const) {
    const error = refusalError(refusal)
    t.equal(error.statusCode, 401, `${refusal}: 401`)
    t.equal(error.code, code)
    t.match(error.headers['www-authenticate'], /\S/, `${refusal}: with WWW-Authenticate`)
  }
})
