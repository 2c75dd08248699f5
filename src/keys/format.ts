// API key format: `clk_` + 43 base62 characters of 256 random bits + 6 base62
// characters of a CRC32 over the rest. The checksum lets the service reject a
// mistyped or invented key without a database lookup, and the fixed prefix and
// shape let secret scanners recognise a leaked key.
import { hash, randomBytes } from 'node:crypto'
import { crc32 } from 'node:zlib'

export const KEY_PREFIX = 'clk_'
const BODY_LENGTH = 43 // ceil(256 / log2(62))
const CHECKSUM_LENGTH = 6 // 62^6 > 2^32
const KEY_PATTERN = /^clk_[0-9A-Za-z]{49}$/
const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'

function base62 (value: bigint, length: number): string {
  let out = ''
  for (let i = 0; i < length; i++) {
    out = ALPHABET[Number(value % 62n)] + out
    value /= 62n
  }
  return out
}

// Every request with a key computes this: a CRC32 fits a double exactly, so no BigInt is needed.
function checksum (text: string): string {
  let value = crc32(text)
  let out = ''
  for (let i = 0; i < CHECKSUM_LENGTH; i++) {
    out = ALPHABET[value % 62]! + out
    value = Math.floor(value / 62)
  }
  return out
}

export function generateKey (): string {
  const body = base62(BigInt('0x' + randomBytes(32).toString('hex')), BODY_LENGTH)
  return KEY_PREFIX + body + checksum(KEY_PREFIX + body)
}

/** True when the text has the shape of a key and its checksum matches. */
export function isWellFormedKey (key: string): boolean {
  if (!KEY_PATTERN.test(key)) return false
  const head = key.slice(0, -CHECKSUM_LENGTH)
  return checksum(head) === key.slice(-CHECKSUM_LENGTH)
}

/**
 * SHA-256 of the key. Keys carry 256 random bits, so a fast hash is enough:
 * no dictionary or brute force applies, and a slow KDF would only cost every request.
 */
export function hashKey (key: string): Buffer {
  return hash('sha256', key, 'buffer')
}

/** The non-secret beginning shown in listings and logs to tell keys apart: `clk_` and 8 characters. */
export function displayPrefix (key: string): string {
  return key.slice(0, KEY_PREFIX.length + 8)
}
