// Keys that are not the key: near misses of a real one (each of which the
// checksum catches), strings of no key shape at all, and well-formed keys
// with a correct checksum that no one was ever given, which only the
// database lookup can refuse.
import { crc32 } from 'node:zlib'
import type { Prng } from './prng.ts'

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'

function base62 (value: number, length: number): string {
  let out = ''
  for (let i = 0; i < length; i++) {
    out = BASE62[value % 62]! + out
    value = Math.floor(value / 62)
  }
  return out
}

/** A key of the service's format (see src/keys/format.ts), checksum included, that was never issued. */
export function wellFormedUnknownKey (prng: Prng): string {
  const head = `clk_${prng.string(43, BASE62)}`
  return head + base62(crc32(head), 6)
}

// Characters that do not belong in a key, spliced into a real one. No
// whitespace at either end: the service trims that, so it would still be the key.
const SPLICES = ['\u0000', '\u0001', '\r\n', '\u200b', '\u202e', '\u00e9', '\u0441', ',', ';', '"', ' ', '\t', '%00', 'clk_']

export type Mutation = (key: string, prng: Prng) => string

const inner = (key: string, prng: Prng): number => prng.int(1, key.length - 1)

/** Ways to get a key slightly wrong, each of which leaves no valid key. */
export const NEAR_MISSES: Record<string, Mutation> = {
  substituted: (key, prng) => {
    const at = prng.int(4, key.length - 1)
    const replacement = BASE62[(BASE62.indexOf(key[at]!) + prng.int(1, 61)) % 62]!
    return key.slice(0, at) + replacement + key.slice(at + 1)
  },
  deleted: (key, prng) => { const at = prng.int(0, key.length - 1); return key.slice(0, at) + key.slice(at + 1) },
  inserted: (key, prng) => { const at = inner(key, prng); return key.slice(0, at) + prng.string(1, BASE62) + key.slice(at) },
  transposed: (key, prng) => {
    // Two neighbours that differ, so that swapping them changes the key.
    const start = prng.int(4, key.length - 2)
    const pairs = Array.from({ length: key.length - 5 }, (_, i) => 4 + ((start - 4 + i) % (key.length - 5)))
    const at = pairs.find((i) => key[i] !== key[i + 1]) ?? start
    return key.slice(0, at) + key[at + 1]! + key[at]! + key.slice(at + 2)
  },
  truncated: (key, prng) => key.slice(0, prng.int(0, key.length - 1)),
  extended: (key, prng) => key + prng.string(prng.int(1, 8), BASE62),
  doubled: (key) => key + key,
  'upper-cased prefix': (key) => `CLK_${key.slice(4)}`,
  'other prefix': (key, prng) => `${prng.pick(['clk-', 'ck_', 'sk_', 'pk_live_', 'Bearer '])}${key.slice(4)}`,
  'case swapped': (key, prng) => {
    const letters = [...key.slice(4)].map((char, i) => [char, i + 4] as const).filter(([char]) => /[a-zA-Z]/.test(char))
    const [char, at] = prng.pick(letters)
    const swapped = char === char.toUpperCase() ? char.toLowerCase() : char.toUpperCase()
    return key.slice(0, at) + swapped + key.slice(at + 1)
  },
  spliced: (key, prng) => { const at = inner(key, prng); return key.slice(0, at) + prng.pick(SPLICES) + key.slice(at) },
  'url-encoded': (key) => key.replace('clk_', 'clk%5F'),
  'base64 of the key': (key) => Buffer.from(key).toString('base64')
}

const ALPHABETS = [
  BASE62,
  `${BASE62}_-+/=.`,
  '\u0000\u0001\u0002\u001f\u007f\u0080\u00ff',
  '\' OR 1=1;--%_\\"',
  '\u202e\u200b\ufeff\u4e2d\u{1f511}'
]

/** A string of no key shape: random length (empty included) and alphabet. */
export function randomNonKey (prng: Prng): string {
  const length = prng.pick([0, 1, 4, 52, 53, 54, prng.int(2, 200), 4096])
  const text = prng.string(length, prng.pick(ALPHABETS))
  // Whitespace at the ends is trimmed by the service; what is left must still be no key.
  return prng.chance(0.3) ? `clk_${text}` : text
}
