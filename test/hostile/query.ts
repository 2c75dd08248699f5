// Hostile query strings and path ids, for any route: parameters the route
// does not know, known ones given twice or in bracket syntax, query strings
// that are not percent-encoded UTF-8, and ids of every shape but a real one
// of the caller's.
import type { HostileCase } from './check.ts'
import type { Prng } from './prng.ts'
import { spoil, type Target } from './target.ts'
import { BROKEN_PERCENT, ENCODED_CONTROLS, ENCODED_INVALID_UTF8, SQL_FRAGMENTS, encode, hostileText } from './values.ts'

/** Parameter names a route with a closed query schema must refuse. */
const UNKNOWN_NAMES = [
  'foo', '__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', 'client_id', 'api_key',
  'key_id', '\u0000', '', ' ', 'LIMIT', 'Order', '__proto__[polluted]', 'constructor[prototype][polluted]', "' OR 1=1 --", '\u202e'
] as const

/** `name=value` pairs joined into a query string (values given already encoded). */
export function query (pairs: ReadonlyArray<readonly [string, string]>): string {
  return pairs.length === 0 ? '' : `?${pairs.map(([name, value]) => `${name}=${value}`).join('&')}`
}

/** Cases whose query carries a parameter the route does not take. */
export function unknownParamCases (target: Target, apiKey: string, prng: Prng, validPairs: ReadonlyArray<readonly [string, string]> = []): HostileCase[] {
  const cases = UNKNOWN_NAMES.map((name) => spoil(target, apiKey, `unknown parameter ${JSON.stringify(name)}`,
    { url: target.path + query([...validPairs, [encode(name), '1']]) }))
  for (let i = 0; i < 6; i++) {
    const name = encode(hostileText(prng, prng.int(1, 12))).replaceAll('%3D', '')
    cases.push(spoil(target, apiKey, `unknown parameter #${i}`, { url: target.path + query([...validPairs, [name, encode(hostileText(prng, 4))]]) }))
  }
  return cases
}

/**
 * Cases whose query string is not percent-encoded UTF-8 (a broken escape,
 * or escaped bytes that are no UTF-8), in the value of `param` and in a
 * parameter name: refused before any schema reads them, 400 malformed_query.
 */
export function malformedQueryCases (target: Target, apiKey: string, param: string): HostileCase[] {
  const refused = { statuses: [400], code: 'malformed_query' } as const
  return [...BROKEN_PERCENT, ...ENCODED_INVALID_UTF8].flatMap((text) => [
    spoil(target, apiKey, `${param}=${text}`, { url: target.path + query([[param, text]]), ...refused }),
    spoil(target, apiKey, `parameter named ${text}`, { url: target.path + query([[`a${text}`, '1']]), ...refused })
  ])
}

/** Each known parameter given twice (two values the schema cannot read as one) and in bracket syntax. */
export function repeatedParamCases (target: Target, apiKey: string, params: Record<string, readonly [string, string]>): HostileCase[] {
  return Object.entries(params).flatMap(([name, [first, second]]) => [
    spoil(target, apiKey, `${name} twice`, { url: target.path + query([[name, first], [name, second]]) }),
    spoil(target, apiKey, `${name}[]`, { url: target.path + query([[`${name}[]`, first]]) }),
    spoil(target, apiKey, `${name}[0]`, { url: target.path + query([[`${name}[0]`, first]]) })
  ])
}

/**
 * Path ids that cannot be one of the caller's: garbage of every kind, ids
 * of the other tenant, and made-up UUIDs. Each is a 404 (or 400/414 when the
 * URL itself is broken or too long), never a 5xx.
 */
export function hostileIds (prng: Prng, foreignIds: readonly string[], randomCount: number): Record<string, string> {
  const randomUUID = (): string => randomUuidFrom(prng)
  const ids: Record<string, string> = {
    empty: '',
    blank: '%20',
    dots: '..',
    'encoded dots': '%2e%2e',
    'encoded slash': '%2F',
    'encoded traversal': '%2E%2E%2Fkeys',
    null: 'null',
    zero: '0',
    negative: '-1',
    huge: '1e309',
    nan: 'NaN',
    'nil uuid': '00000000-0000-0000-0000-000000000000',
    'max uuid': 'ffffffff-ffff-ffff-ffff-ffffffffffff',
    'uuid in braces': `%7B${randomUUID()}%7D`,
    'uuid without dashes': randomUUID().replaceAll('-', ''),
    'urn uuid': `urn:uuid:${randomUUID()}`,
    'uuid and a suffix': `${randomUUID()}x`,
    'uuid and a NUL': `${randomUUID()}%00`,
    'uuid, one digit short': randomUUID().slice(0, -1),
    'uuid of non-hex': 'gggggggg-gggg-gggg-gggg-gggggggggggg',
    '65 characters': 'a'.repeat(65),
    '90 characters': 'b'.repeat(90),
    '300 characters': 'c'.repeat(300),
    'array syntax': 'id[]',
    'JSON object': encode('{"$ne":null}')
  }
  SQL_FRAGMENTS.forEach((fragment, i) => { ids[`SQL #${i}`] = encode(fragment) })
  ENCODED_CONTROLS.forEach((text, i) => { ids[`control #${i}`] = `a${text}b` })
  ENCODED_INVALID_UTF8.forEach((text, i) => { ids[`invalid UTF-8 #${i}`] = text })
  BROKEN_PERCENT.forEach((text, i) => { ids[`broken percent #${i}`] = text })
  foreignIds.forEach((id, i) => {
    ids[`other tenant's #${i}`] = id
    ids[`other tenant's #${i}, upper case`] = id.toUpperCase()
  })
  for (let i = 0; i < randomCount; i++) {
    ids[`random #${i}`] = prng.chance(0.3) ? randomUuidFrom(prng) : encode(hostileText(prng, prng.int(1, 40)))
  }
  return ids
}

/** A UUID no row has (drawn from the seeded generator, so the corpus stays the same). */
export function randomUuidFrom (prng: Prng): string {
  const hex = prng.string(32, '0123456789abcdef')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20)}`
}
