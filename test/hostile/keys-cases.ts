// The key routes' corpus. Each case is aimed at a real key of the caller's
// (the victim) or at an id that is no key of the caller's, and is bad in
// exactly the part it varies; nothing may be created, rotated, renamed,
// fenced or revoked by any of them.
import { authCases } from './auth-cases.ts'
import { DEEP_VALUES, envelopeCases, FOREIGN_ENCODINGS, poisoned } from './bodies.ts'
import type { HostileCase } from './check.ts'
import { raw, toJson } from './json.ts'
import type { Prng } from './prng.ts'
import { hostileIds, malformedQueryCases, query, repeatedParamCases, unknownParamCases } from './query.ts'
import { keyHeaders, spoil, type Target } from './target.ts'
import { ABSURD_NUMBERS, encode, unstorableText } from './values.ts'
import type { World } from './world.ts'

const TEN_YEARS = 10 * 366 * 86_400
const MAX_GRACE = 30 * 86_400
const long = (length: number): string => 'x'.repeat(length)
const hundredAndOneRanges = Array.from({ length: 101 }, (_, i) => `10.0.${i >> 8}.${i & 255}/32`)

const BAD_NAMES: readonly unknown[] = [
  '', long(129), long(5000), 0, true, [], {}, ['x'], raw('1e309'), ...Object.values(DEEP_VALUES),
  // Names that would rewrite the provider's terminal, or disguise themselves in it.
  'ok\r\u001b[2K\u001b[31mFAKE\u001b]0;owned\u0007', 'csi\u009b2J', 'del\u007f', 'rlo\u202etxt.exe', 'line\u2028break', 'two\nlines'
]
const BAD_SCOPES: readonly unknown[] = [
  [], ['admin'], ['logs:write', 'logs:write'], 'logs:read', [1], [null], ['LOGS:READ'], ['logs:read '], {}, null, [''],
  ['logs:*'], ['*'], [['logs:read']], 0, true, ['logs:read', 'keys:manage', 'root'], ['logs:read\u0000']
]
// Lifetimes below a minute, past ten years, or not an integer at all.
const BAD_LIFETIMES: readonly unknown[] = [59, 0, -1, 1.5, '3600', TEN_YEARS + 1, true, [], {}, ...ABSURD_NUMBERS]
const BAD_ALLOWLISTS: readonly unknown[] = [
  [], 'x', '10.0.0.0/8', [''], [' '], ['10.0.0.0/33'], ['10.0.0.1/8'], ['not-an-ip'], ['::ffff:10.0.0.1'], ['fe80::1%eth0'],
  hundredAndOneRanges, [long(65)], [1], [null], ['10.0.0.0/8/9'], ['010.0.0.1'], ['0x7f.1'], ['127.1'], ['10.0.0.0/-1'],
  ['10.0.0.0/ 8'], ['::/129'], ['10.0.0.0/8\u0000'], ["10.0.0.0/8' OR '1'='1"], [{}], true, 0, {}, ['300.0.0.1'],
  ['1.2.3.4.5'], ['10.0.0.0/8', 'bogus'], ['10.0.0.0/8'.repeat(8)]
]

type Members = Record<string, readonly unknown[]>

/** One case per bad value of each member, the rest of the valid body kept. */
function memberCases (target: Target, world: World, valid: Record<string, unknown>, bads: Members, prng: Prng): HostileCase[] {
  const cases: HostileCase[] = []
  for (const [member, values] of Object.entries(bads)) {
    values.forEach((value, i) => {
      cases.push(spoil(target, world.admin.apiKey, `${member} #${i} ${describe(value)}`, { payload: toJson({ ...valid, [member]: value }) }))
    })
  }
  if ('name' in bads) {
    for (let i = 0; i < 3; i++) {
      cases.push(spoil(target, world.admin.apiKey, `name unstorable #${i}`, { payload: toJson({ ...valid, name: unstorableText(prng) }) }))
    }
  }
  return cases
}

function describe (value: unknown): string {
  const text = toJson(value)
  return text.length > 24 ? `${text.slice(0, 20)}…(${text.length})` : text
}

/** Members the body does not have, each added to the valid body. */
function unknownMemberCases (target: Target, world: World, valid: Record<string, unknown>, names: readonly string[]): HostileCase[] {
  return names.map((name) => spoil(target, world.admin.apiKey, `unknown member ${JSON.stringify(name)}`, { payload: toJson({ ...valid, [name]: 'x' }) }))
}

/** Bodies of the wrong shape, prototype keys and deep nesting, for a route whose body is an object. */
function shapeCases (target: Target, world: World, valid: Record<string, unknown>, shapes: readonly string[]): HostileCase[] {
  const key = world.admin.apiKey
  const cases = shapes.map((payload) => spoil(target, key, `body is ${payload}`, { payload }))
  for (const [kind, payload] of Object.entries(poisoned((value) => value))) cases.push(spoil(target, key, `${kind} as the body`, { payload }))
  for (const [kind, payload] of Object.entries(poisoned((value) => ({ ...valid, extra: value })))) cases.push(spoil(target, key, `${kind} in a member`, { payload }))
  for (const [kind, payload] of Object.entries(poisoned((value) => ({ ...valid, allowed_cidrs: [value] })))) cases.push(spoil(target, key, `${kind} in a list`, { payload }))
  for (const [name, deep] of Object.entries(DEEP_VALUES)) cases.push(spoil(target, key, `${name} as the body`, { payload: toJson(deep) }))
  const [first] = Object.keys(valid)
  if (first !== undefined) {
    cases.push(spoil(target, key, `${first} given twice, last bad`, { payload: `${JSON.stringify(valid).slice(0, -1)},"${first}":{"bad":true}}` }))
  }
  return cases
}

/** The same request made with a key that may not: one lacking a scope it would grant, or fenced in, or in its grace. */
function withKey (target: Target, name: string, apiKey: string, payload?: string, statuses: readonly number[] = [403]): HostileCase {
  return spoil(target, apiKey, name, { ...(payload === undefined ? {} : { payload }), statuses })
}

function idCases (target: Target, world: World, prng: Prng, path: (id: string) => string, count: number): HostileCase[] {
  return Object.entries(hostileIds(prng, world.otherKeyIds, count)).map(([name, id]) =>
    spoil(target, world.admin.apiKey, `id ${name}`, { url: path(id) }))
}

const keyPath = (id: string): string => `/api/v1/keys/${id}`

export function listKeysCases (target: Target, world: World, prng: Prng): HostileCase[] {
  const cases = authCases(target, world, prng, 130)
  for (const encoding of FOREIGN_ENCODINGS) {
    cases.push(spoil(target, world.admin.apiKey, `content-encoding ${encoding}`, { headers: { ...keyHeaders(world.admin.apiKey), 'content-encoding': encoding } }))
  }
  for (const method of ['PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const) cases.push(spoil(target, world.admin.apiKey, `${method} on the list`, { method }))
  // The list takes a page size and a cursor, and nothing else.
  cases.push(spoil(target, world.admin.apiKey, 'page size below 1', { url: `${target.path}?limit=-1` }))
  cases.push(spoil(target, world.admin.apiKey, 'cursor of another client', { url: `${target.path}?cursor=${world.other.keyId}` }))
  cases.push(...unknownParamCases(target, world.admin.apiKey, prng), ...malformedQueryCases(target, world.admin.apiKey, 'limit'))
  return cases
}

export function getKeyCases (target: Target, world: World, prng: Prng): HostileCase[] {
  const cases = idCases(target, world, prng, keyPath, 70)
  for (const control of ['\u0000', '\u0001', '\r\n', '\u202e', ' x', '%']) {
    cases.push(spoil(target, world.admin.apiKey, `victim id with ${JSON.stringify(control)}`, { url: keyPath(encode(`${world.victim.keyId}${control}`)) }))
  }
  for (const method of ['PUT', 'POST'] as const) cases.push(spoil(target, world.admin.apiKey, `${method} on a key`, { method }))
  cases.push(...unknownParamCases(target, world.admin.apiKey, prng), ...malformedQueryCases(target, world.admin.apiKey, 'fields'))
  cases.push(...authCases(target, world, prng, 20))
  return cases
}

const CREATE_VALID = { name: 'corpus' }
const CREATE_UNKNOWN = ['client_id', 'api_key', 'key_hash', 'id', 'revoked_at', 'scope', 'Name', 'name ', 'prefix', 'last_used_at', 'constructor', 'prototype', '']

export function createKeyCases (target: Target, world: World, prng: Prng): HostileCase[] {
  const cases = [
    ...memberCases(target, world, CREATE_VALID, {
      name: BAD_NAMES, scopes: BAD_SCOPES, expires_in_seconds: BAD_LIFETIMES, allowed_cidrs: BAD_ALLOWLISTS
    }, prng),
    ...unknownMemberCases(target, world, CREATE_VALID, CREATE_UNKNOWN),
    // null is a body, not the absence of one: it is no object, so it is refused.
    ...shapeCases(target, world, CREATE_VALID, ['null', '[]', '1', '"x"', 'true', '[{}]', '[null]']),
    ...unknownParamCases(target, world.admin.apiKey, prng),
    ...malformedQueryCases(target, world.admin.apiKey, 'name'),
    spoil(target, world.admin.apiKey, 'name of 2 MiB', { payload: JSON.stringify({ name: long(2 * 1024 * 1024) }) }),
    withKey(target, 'default scopes, beyond a manage-only key', world.manager.apiKey, '{}'),
    withKey(target, 'logs:read, beyond a manage-only key', world.manager.apiKey, '{"scopes":["logs:read"]}'),
    withKey(target, 'a key in its grace', world.graced.apiKey, '{}'),
    ...['["10.0.0.0/8"]', 'null', '["0.0.0.0/0"]', '["::/0"]', '["126.0.0.0/7"]'].map((ranges) =>
      withKey(target, `allowlist ${ranges} from a confined key`, world.confined.apiKey, `{"allowed_cidrs":${ranges}}`)),
    ...envelopeCases(target, world.admin.apiKey, JSON.stringify(CREATE_VALID), prng, 4 * 1024 * 1024),
    ...authCases(target, world, prng)
  ]
  return cases
}

const ROTATE_VALID = { grace_seconds: 60 }

export function rotateKeyCases (target: Target, world: World, prng: Prng): HostileCase[] {
  const rotatePath = (id: string): string => `/api/v1/keys/${id}/rotate`
  const valid = JSON.stringify(ROTATE_VALID)
  return [
    ...idCases(target, world, prng, rotatePath, 20),
    ...[world.revoked, world.graced, world.expired].map((key) =>
      spoil(target, world.admin.apiKey, `a key no longer active ${key.keyId.slice(0, 8)}`, { url: rotatePath(key.keyId), statuses: [409] })),
    withKey(target, 'scopes beyond a manage-only key', world.manager.apiKey, valid),
    withKey(target, 'no allowlist, from a confined key', world.confined.apiKey, valid),
    withKey(target, 'a key in its grace', world.graced.apiKey, valid),
    ...memberCases(target, world, ROTATE_VALID, {
      // A grace of 1e-400 reads as 0, and 0 (or -0) is a valid grace: left out.
      grace_seconds: [-1, 'x', 1.5, MAX_GRACE + 1, null, [], {}, true, '60', ...ABSURD_NUMBERS.filter((token) => token.text !== '1e-400')],
      // null is valid here: "never expires".
      expires_in_seconds: BAD_LIFETIMES
    }, prng),
    ...unknownMemberCases(target, world, ROTATE_VALID, ['name', 'scopes', 'api_key', 'client_id', 'key_id', 'grace', 'Grace_Seconds', 'constructor']),
    ...shapeCases(target, world, ROTATE_VALID, ['null', '[]', '1', '"x"', 'true', '[{}]', '{}{}']),
    ...unknownParamCases(target, world.admin.apiKey, prng),
    ...malformedQueryCases(target, world.admin.apiKey, 'grace_seconds'),
    ...envelopeCases(target, world.admin.apiKey, valid, prng, 4 * 1024 * 1024),
    ...authCases(target, world, prng)
  ]
}

const PATCH_VALID = { name: 'corpus' }
const ALLOW_SELF_BADS = ['maybe', '1', '0', '', 'TRUE', 'yes', encode('true\u0000'), 'true&allow_self=false']

export function patchKeyCases (target: Target, world: World, prng: Prng): HostileCase[] {
  const valid = JSON.stringify(PATCH_VALID)
  const own = keyPath(world.admin.keyId)
  const fence = '{"allowed_cidrs":["10.0.0.0/8"]}'
  return [
    ...idCases(target, world, prng, keyPath, 20),
    spoil(target, world.admin.apiKey, 'fencing out its own address', { url: own, payload: fence, statuses: [409] }),
    spoil(target, world.admin.apiKey, 'fencing out its own address, allow_self=false', { url: `${own}?allow_self=false`, payload: fence, statuses: [409] }),
    spoil(target, world.admin.apiKey, 'fencing out its own address, upper-case id', { url: keyPath(world.admin.keyId.toUpperCase()), payload: fence, statuses: [409] }),
    withKey(target, 'allowlist wider than a confined key', world.confined.apiKey, fence),
    withKey(target, 'no allowlist, from a confined key', world.confined.apiKey, '{"allowed_cidrs":null}'),
    withKey(target, 'a key in its grace', world.graced.apiKey, valid),
    // The victim holds scopes the manager lacks, and is accepted from anywhere, where the confined key is not.
    withKey(target, 'a key with scopes a manage-only key lacks', world.manager.apiKey, valid),
    withKey(target, 'a key allowed from anywhere, from a confined key', world.confined.apiKey, valid),
    ...memberCases(target, world, PATCH_VALID, { name: BAD_NAMES, allowed_cidrs: BAD_ALLOWLISTS }, prng),
    ...unknownMemberCases(target, world, PATCH_VALID, ['scopes', 'expires_at', 'revoked_at', 'client_id', 'id', 'key_hash', 'Name', 'constructor']),
    ...shapeCases(target, world, PATCH_VALID, ['{}', 'null', '[]', '1', '"x"', 'true', '[{"name":"x"}]']),
    spoil(target, world.admin.apiKey, 'no body at all', { payload: undefined, headers: keyHeaders(world.admin.apiKey) }),
    ...ALLOW_SELF_BADS.map((value) => spoil(target, world.admin.apiKey, `allow_self=${value}`, { url: `${target.path}?allow_self=${value}` })),
    ...repeatedParamCases(target, world.admin.apiKey, { allow_self: ['false', 'true'] }),
    ...unknownParamCases(target, world.admin.apiKey, prng),
    ...malformedQueryCases(target, world.admin.apiKey, 'allow_self'),
    ...envelopeCases(target, world.admin.apiKey, valid, prng, 4 * 1024 * 1024),
    ...authCases(target, world, prng)
  ]
}

// A revocation reads no body; one that is sent anyway must be refused when it cannot be read, so the cases break this one.
const REVOKE_BODY = '{"note":"corpus"}'

export function revokeKeyCases (target: Target, world: World, prng: Prng): HostileCase[] {
  const own = keyPath(world.admin.keyId)
  const cases = [
    ...idCases(target, world, prng, keyPath, 40),
    spoil(target, world.admin.apiKey, 'its own key', { url: own, statuses: [409] }),
    spoil(target, world.admin.apiKey, 'its own key, allow_self=false', { url: `${own}?allow_self=false`, statuses: [409] }),
    spoil(target, world.admin.apiKey, 'its own key, upper-case id', { url: keyPath(world.admin.keyId.toUpperCase()), statuses: [409] }),
    withKey(target, 'a key in its grace', world.graced.apiKey),
    withKey(target, 'a key with scopes a manage-only key lacks', world.manager.apiKey),
    withKey(target, 'a key allowed from anywhere, from a confined key', world.confined.apiKey),
    ...ALLOW_SELF_BADS.map((value) => spoil(target, world.admin.apiKey, `allow_self=${value}`, { url: `${target.path}?allow_self=${value}` })),
    ...repeatedParamCases(target, world.admin.apiKey, { allow_self: ['false', 'true'] }),
    ...unknownParamCases(target, world.admin.apiKey, prng),
    ...malformedQueryCases(target, world.admin.apiKey, 'allow_self'),
    spoil(target, world.admin.apiKey, 'own key, unknown parameter', { url: `${own}${query([['force', 'true']])}` }),
    // A body is no part of a revocation; one that cannot be read must still be refused, not ignored halfway.
    ...envelopeCases({ ...target, body: REVOKE_BODY }, world.admin.apiKey, REVOKE_BODY, prng, 4 * 1024 * 1024),
    ...authCases(target, world, prng)
  ]
  return cases
}
