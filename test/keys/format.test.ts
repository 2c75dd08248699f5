import { createHash } from 'node:crypto'
import t from 'tap'
import { KEY_PREFIX, displayPrefix, generateKey, hashKey, isWellFormedKey } from '../../src/keys/format.ts'

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'

/** The same key with the character at `index` replaced by another base62 character. */
function withCharChanged (key: string, index: number, step = 1): string {
  const current = ALPHABET.indexOf(key[index] ?? '')
  const replacement = ALPHABET[(current + step) % ALPHABET.length] ?? ''
  return key.slice(0, index) + replacement + key.slice(index + 1)
}

void t.test('a generated key has the documented shape', async (t) => {
  t.equal(KEY_PREFIX, 'clk_')
  for (let i = 0; i < 50; i++) {
    const key = generateKey()
    t.ok(key.startsWith('clk_'), 'starts with clk_')
    // 43 characters carry the 256 random bits, 6 carry the checksum.
    t.equal(key.length, 4 + 43 + 6)
    t.match(key, /^clk_[0-9A-Za-z]{49}$/, 'only base62 after the prefix')
    t.ok(isWellFormedKey(key), 'its own checksum matches')
  }
})

void t.test('the body carries at least 256 random bits', async (t) => {
  // Decoding the body back from base62 and seeing values above 2^255 shows the
  // top bit is used, so the body is not a shorter random number padded out.
  let aboveHalf = 0
  for (let i = 0; i < 200; i++) {
    const body = generateKey().slice(KEY_PREFIX.length, KEY_PREFIX.length + 43)
    let value = 0n
    for (const char of body) value = value * 62n + BigInt(ALPHABET.indexOf(char))
    t.ok(value < 2n ** 256n, 'fits in 256 bits')
    if (value >= 2n ** 255n) aboveHalf++
  }
  t.ok(aboveHalf > 50 && aboveHalf < 150, `about half the bodies use the top bit (${aboveHalf} of 200)`)
})

void t.test('the checksum rejects any single changed character', async (t) => {
  const key = generateKey()
  for (let index = KEY_PREFIX.length; index < key.length; index++) {
    for (const step of [1, 31, 61]) {
      const changed = withCharChanged(key, index, step)
      t.not(changed, key)
      t.notOk(isWellFormedKey(changed), `change at position ${index} by ${step} is rejected`)
    }
  }
})

void t.test('truncated, extended, mis-prefixed and invented keys are rejected', async (t) => {
  const key = generateKey()
  t.ok(isWellFormedKey(key))
  t.notOk(isWellFormedKey(key.slice(0, -1)), 'one character short')
  t.notOk(isWellFormedKey(key.slice(0, 20)), 'cut in the middle')
  t.notOk(isWellFormedKey(key + 'a'), 'one character too many')
  t.notOk(isWellFormedKey('clx_' + key.slice(4)), 'wrong prefix')
  t.notOk(isWellFormedKey('CLK_' + key.slice(4)), 'prefix in the wrong case')
  t.notOk(isWellFormedKey(key.slice(4)), 'prefix missing')
  t.notOk(isWellFormedKey(` ${key}`), 'leading space')
  t.notOk(isWellFormedKey(`${key}\n`), 'trailing newline')
  t.notOk(isWellFormedKey(''), 'empty')
  t.notOk(isWellFormedKey('hello world'), 'random text')
  t.notOk(isWellFormedKey('clk_' + 'a'.repeat(49)), 'right shape, made-up checksum')
  t.notOk(isWellFormedKey('clk_' + '-'.repeat(49)), 'right length, wrong charset')
  // Swapping two different characters keeps the length and charset; only the checksum can notice.
  const a = KEY_PREFIX.length
  const swapAt = [...key.slice(a)].findIndex((char, i) => char !== key[a + i + 1]) + a
  const swapped = key.slice(0, swapAt) + key[swapAt + 1] + key[swapAt] + key.slice(swapAt + 2)
  t.not(swapped, key)
  t.notOk(isWellFormedKey(swapped), 'two adjacent characters swapped')
})

void t.test('1000 generated keys are all distinct', async (t) => {
  const keys = new Set<string>()
  const bodies = new Set<string>()
  for (let i = 0; i < 1000; i++) {
    const key = generateKey()
    keys.add(key)
    bodies.add(key.slice(KEY_PREFIX.length, KEY_PREFIX.length + 43))
  }
  t.equal(keys.size, 1000)
  t.equal(bodies.size, 1000)
})

void t.test('displayPrefix is the prefix and 8 characters, and nothing more', async (t) => {
  const key = generateKey()
  const prefix = displayPrefix(key)
  t.equal(prefix, key.slice(0, 12))
  t.ok(prefix.startsWith('clk_'))
  t.equal(prefix.length, 12)
  t.notOk(isWellFormedKey(prefix), 'the prefix alone is not a usable key')
  const other = generateKey()
  t.not(displayPrefix(other), prefix, 'two keys are told apart by their prefixes')
})

void t.test('hashKey is SHA-256: 32 bytes, deterministic, distinct per key', async (t) => {
  const key = generateKey()
  const hash = hashKey(key)
  t.ok(Buffer.isBuffer(hash))
  t.equal(hash.length, 32)
  t.same(hashKey(key), hash, 'same key, same hash')
  t.equal(hash.toString('hex'), createHash('sha256').update(key).digest('hex'))
  t.notSame(hashKey(generateKey()), hash, 'another key, another hash')
  t.notSame(hashKey(withCharChanged(key, 10)), hash, 'one character changed, another hash')
  t.notOk(hash.toString('hex').includes(Buffer.from(key).toString('hex')), 'the hash does not embed the key')
})
