// Hostile credentials, the same for every authenticated route: each case is
// the route's valid request with the key missing, garbled, duplicated,
// contradicted, in the wrong scheme, or a real key that may not do this.
// Answer: 401 or 403, and nothing changes (a DELETE or rotate included).
import { NEAR_MISSES, randomNonKey, wellFormedUnknownKey } from './key-shapes.ts'
import type { HostileCase } from './check.ts'
import type { Prng } from './prng.ts'
import { spoil, type Target } from './target.ts'
import type { IssuedKey } from '../helper.ts'
import type { World } from './world.ts'

const REFUSED = [401, 403] as const

type Placement = (key: string) => Record<string, string>
const PLACEMENTS: Record<string, Placement> = {
  'x-api-key': (key) => ({ 'x-api-key': key }),
  bearer: (key) => ({ authorization: `Bearer ${key}` }),
  'api-key scheme': (key) => ({ authorization: `Api-Key ${key}` })
}

/** The case with its credentials replaced (the Content-Type kept). */
function withCredentials (target: Target, name: string, credentials: Record<string, string | string[]>, extra: Partial<HostileCase> = {}): HostileCase {
  const base = spoil(target, '', name, extra)
  const { 'x-api-key': _dropped, ...rest } = base.headers ?? {}
  return { ...base, headers: { ...rest, ...credentials }, statuses: REFUSED }
}

function placed (target: Target, prng: Prng, label: string, key: string): HostileCase {
  const where = prng.pick(Object.keys(PLACEMENTS))
  return withCredentials(target, `${label} in ${where}`, PLACEMENTS[where]!(key))
}

function schemeCases (target: Target, key: string): HostileCase[] {
  const basic = (text: string): string => `Basic ${Buffer.from(text).toString('base64')}`
  const schemes: Record<string, string> = {
    'Basic key:': basic(`${key}:`),
    'Basic user:pass': basic('admin:admin'),
    'Basic garbage': 'Basic %%%',
    Digest: `Digest username="${key}", realm="x", nonce="1", uri="/", response="0"`,
    'Token scheme': `Token ${key}`,
    'ApiKey and junk': `ApiKey ${key} extra`,
    'Basic without a colon': `Basic ${Buffer.from(key).toString('base64')}`,
    'Basic key not base64': `Basic :${key}`,
    'scheme only': 'Bearer',
    'empty bearer': 'Bearer ',
    'bearer and junk': `Bearer ${key} extra`,
    'bearer twice': `Bearer ${key}, Bearer ${key}`,
    'no space': `Bearer${key}`,
    'NUL after scheme': `Bearer\u0000${key}`,
    'empty header': '',
    'key without scheme': key
  }
  return Object.entries(schemes).map(([label, value]) => withCredentials(target, `authorization: ${label}`, { authorization: value }))
}

function conflictCases (target: Target, world: World, prng: Prng): HostileCase[] {
  const key = world.admin.apiKey
  const unknown = wellFormedUnknownKey(prng)
  return [
    withCredentials(target, 'x-api-key twice, same key', { 'x-api-key': [key, key] }),
    withCredentials(target, 'x-api-key twice, two keys', { 'x-api-key': [key, world.victim.apiKey] }),
    withCredentials(target, 'x-api-key twice, key and garbage', { 'x-api-key': [key, 'garbage'] }),
    withCredentials(target, 'x-api-key and a different bearer', { 'x-api-key': key, authorization: `Bearer ${unknown}` }),
    withCredentials(target, 'bearer and a different x-api-key', { 'x-api-key': world.victim.apiKey, authorization: `Bearer ${key}` }),
    withCredentials(target, 'x-api-key and basic', { 'x-api-key': key, authorization: `Basic ${Buffer.from(`${key}:`).toString('base64')}` }),
    withCredentials(target, 'x-api-key and empty bearer', { 'x-api-key': key, authorization: 'Bearer ' }),
    withCredentials(target, 'empty x-api-key and bearer', { 'x-api-key': '', authorization: `Bearer ${key}` }),
    withCredentials(target, 'authorization twice, garbage first', { authorization: ['Basic x', `Bearer ${key}`] }),
    withCredentials(target, 'authorization twice, unknown key first', { authorization: [`Bearer ${unknown}`, `Bearer ${key}`] }),
    withCredentials(target, 'key in the query string only', {}, { url: `${target.path}${target.path.includes('?') ? '&' : '?'}api_key=${key}` }),
    withCredentials(target, 'key in a cookie only', { cookie: `api_key=${key}` }),
    withCredentials(target, 'key under another header name', { 'x-api-token': key, 'api-key': key }),
    withCredentials(target, 'no key at all', {}),
    withCredentials(target, 'empty x-api-key', { 'x-api-key': '' }),
    withCredentials(target, 'blank x-api-key', { 'x-api-key': ' \t ' })
  ]
}

// Two Authorization headers, the first a good key: Node.js keeps only the
// first in request.headers, so the conflict must be seen in the raw headers.
// (The same key twice is one key, a good request, and so not in the corpus.)
function repeatedAuthorizationCases (target: Target, world: World): HostileCase[] {
  const key = world.admin.apiKey
  return [
    { ...withCredentials(target, 'authorization twice, two keys', { authorization: [`Bearer ${key}`, `Api-Key ${world.victim.apiKey}`] }), code: 'conflicting_api_keys' },
    { ...withCredentials(target, 'authorization twice, a key then garbage', { authorization: [`Bearer ${key}`, 'Bearer x'] }), code: 'conflicting_api_keys' }
  ]
}

/** Real keys that may not make this request: lacking the scope, revoked, expired, fenced out, or (where it matters) in their grace. */
function unfitKeyCases (target: Target, world: World): HostileCase[] {
  const unfit: Array<readonly [string, IssuedKey]> = [['revoked key', world.revoked], ['expired key', world.expired], ['key fenced to 10.0.0.0/8', world.fenced]]
  const singleScoped = [[world.writer, 'logs:write'], [world.reader, 'logs:read'], [world.manager, 'keys:manage']] as const
  for (const [key, scope] of singleScoped) if (scope !== target.scope) unfit.push([`${scope}-only key`, key])
  if (target.refusesGraced) unfit.push(['key in its grace', world.graced])
  const cases = unfit.flatMap(([label, key]) => Object.entries(PLACEMENTS).map(([where, place]) =>
    withCredentials(target, `${label} in ${where}`, place(key.apiKey))))
  // The confined key is good from 127.0.0.0/8 only; app.inject can say the request came from elsewhere.
  cases.push(withCredentials(target, 'confined key from outside its allowlist', { 'x-api-key': world.confined.apiKey }, { remoteAddress: '203.0.113.9' }))
  return cases
}

/**
 * The credential corpus for a route; `extra` adds that many more drawn at
 * random (near misses of any real key, strings of no key shape, unknown
 * well-formed keys) for a route that takes no other input.
 */
export function authCases (target: Target, world: World, prng: Prng, extra = 0): HostileCase[] {
  const cases = [
    ...schemeCases(target, world.admin.apiKey), ...conflictCases(target, world, prng), ...repeatedAuthorizationCases(target, world),
    ...unfitKeyCases(target, world)
  ]
  for (const [label, mutate] of Object.entries(NEAR_MISSES)) {
    cases.push(placed(target, prng, `key ${label}`, mutate(world.admin.apiKey, prng)))
  }
  for (let i = 0; i < 12; i++) cases.push(placed(target, prng, `no key shape #${i}`, randomNonKey(prng)))
  for (let i = 0; i < 6; i++) cases.push(placed(target, prng, `unknown well-formed key #${i}`, wellFormedUnknownKey(prng)))
  const realKeys = [world.admin, world.victim, world.other, world.graced, world.confined].map((key) => key.apiKey)
  for (let i = 0; i < extra; i++) {
    const draw = prng.int(0, 2)
    if (draw === 0) {
      const label = prng.pick(Object.keys(NEAR_MISSES))
      cases.push(placed(target, prng, `drawn #${i}: key ${label}`, NEAR_MISSES[label]!(prng.pick(realKeys), prng)))
    } else if (draw === 1) {
      cases.push(placed(target, prng, `drawn #${i}: no key shape`, randomNonKey(prng)))
    } else {
      cases.push(placed(target, prng, `drawn #${i}: unknown well-formed key`, wellFormedUnknownKey(prng)))
    }
  }
  return cases
}
