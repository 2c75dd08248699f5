// The hostile vocabulary the corpus draws from: text a query could trip on,
// times and days that are not what they claim, and wrong types for a field.
import type { Prng } from './prng.ts'
import { raw } from './json.ts'

export const SQL_FRAGMENTS = [
  "' OR '1'='1",
  "'; DROP TABLE logs; --",
  '" OR ""="',
  '1; SELECT pg_sleep(5)',
  "') UNION SELECT key_hash::text FROM api_keys --",
  "%' OR message ILIKE '%",
  '$$; DROP TABLE clients; $$',
  '\\',
  '%_%',
  '/* */ --'
] as const

/** Characters that are legal text yet trip parsers, terminals and logs. */
export const CONTROL_CHARACTERS = ['\u0001', '\r\n', '\u001b[31m', '\u202e', '\ufeff', '\u2028', '\u0085', '\u007f', '\t'] as const

/** What PostgreSQL text cannot hold. */
export const UNSTORABLE = ['\u0000', '\ud800', '\udfff', 'a\udbffb'] as const

/** Query-string spellings of characters: NUL, controls, RTL override, and an encoded lone surrogate (not valid UTF-8). */
export const ENCODED_CONTROLS = ['%00', '%01', '%0D%0A', '%1B', '%E2%80%AE', '%EF%BB%BF', '%7F'] as const
export const ENCODED_INVALID_UTF8 = ['%ED%A0%80', '%FF', '%C3', '%E2%80', '%F8%88%80%80%80'] as const
export const BROKEN_PERCENT = ['%', '%z', '%zz', '%%', '%G0', '%u0041'] as const

/** Not an RFC 3339 date-time, or one that names no instant (a leap second): bad wherever a date-time is asked for. */
export const BAD_DATE_TIMES = [
  '', 'now', 'yesterday', '2026-11-20', '2026-11-20T10:00:00', '2026-11-20T10:00Z', '2026-13-01T00:00:00Z',
  '2026-00-10T00:00:00Z', '2026-02-30T00:00:00Z', '2025-02-29T00:00:00Z', '2026-11-31T00:00:00Z',
  '2026-11-20T25:00:00Z', '2026-11-20T10:60:00Z', '2026-11-20T10:00:61Z', '2026-12-31T23:59:60Z',
  '2026-06-30T23:59:60+00:00', '2026-11-20T10:00:00+24:00', '2026-11-20T10:00:00+05:60', '10000-01-01T00:00:00Z',
  '+002026-11-20T10:00:00Z', '-002026-11-20T10:00:00Z', '1700000000', '2026-11-20T10:00:00.Z', '2026-11-20T10:00:00ZZ',
  '2026-11-20T10:00:00Z ', ' 2026-11-20T10:00:00Z', '2026-11-20T10:00:00Z\u0000', "2026-11-20T10:00:00Z' OR '1'='1",
  '2026-11-20T10:00:00\u202eZ', '\uff12\uff10\uff12\uff16-11-20T10:00:00Z', 'Fri, 20 Nov 2026 10:00:00 GMT', 'NaN',
  'Infinity', '2026-W47-5T10:00:00Z', '2026-324T10:00:00Z', '2026-11-20T10:00:00+01', '2026-11-20T1:00:00Z'
] as const

/** Not a YYYY-MM-DD day, or one before the first day there is. */
export const BAD_DAYS = [
  '', 'today', '2026-02-30', '2026-13-01', '2026-00-01', '2026-11-31', '20261120', '2026-11-20T00:00:00Z', '26-11-20',
  '2026/11/20', '2026-11-20 ', ' 2026-11-20', '0000-01-01', '10000-01-01', '-2026-11-20', '2026-11-20\u0000',
  "2026-11-20' OR '1'='1", '2026-1-1', '\uff12\uff10\uff12\uff16-11-20'
] as const

/** JSON values of every type, for a field that wants another. */
export const ANY_TYPE: readonly unknown[] = [0, -1, 1.5, true, false, null, [], ['x'], {}, { a: 1 }, '', 'x']

/** Numbers JSON can spell and JavaScript cannot hold, and tokens JSON does not allow. */
export const ABSURD_NUMBERS = [
  raw('1e309'), raw('-1e309'), raw('1e-400'), raw('123456789012345678901234567890'), raw('NaN'), raw('Infinity'),
  raw('-Infinity'), raw('0x10'), raw('01'), raw('1.'), raw('.5'), raw('+1'), raw('1e'), raw('--1')
] as const

/** Text of the given length mixing quotes, wildcards, controls, RTL marks and non-Latin scripts. */
export function hostileText (prng: Prng, length: number): string {
  return prng.string(length, 'abcXYZ019\'"%_\\;-/*()$\u0001\r\n\u202e\u2028\u00e9\u4e2d\u{1f600}<>&|`')
}

/** A hostile string guaranteed to be refused wherever text is stored: it holds a NUL or an unpaired surrogate. */
export function unstorableText (prng: Prng): string {
  const base = prng.chance(0.5) ? prng.pick(SQL_FRAGMENTS) : hostileText(prng, prng.int(1, 12))
  const bad = prng.pick(UNSTORABLE)
  const at = prng.int(0, base.length)
  return base.slice(0, at) + bad + base.slice(at)
}

/** Percent-encodes text for a URL; a lone surrogate (which encodeURIComponent refuses) as the UTF-8 bytes it would be. */
export function encode (text: string): string {
  let out = ''
  for (const char of text) {
    const code = char.codePointAt(0)!
    out += code >= 0xd800 && code <= 0xdfff ? '%ED%A0%80' : encodeURIComponent(char)
  }
  return out
}
