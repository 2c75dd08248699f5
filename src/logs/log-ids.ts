// Ids of new logs: UUIDv7 (RFC 9562), ordered by time, so that a tail
// resumes with "the ids after this one" and pages sort by id within a
// millisecond. Made here rather than with the uuid package for what a
// thousand-row batch costs: that one builds each id by string concatenation,
// about a kilobyte of short-lived strings per id; here an id is written as
// ASCII into one buffer and read out as one string.
//
// Layout (RFC 9562 §5.7, counter as in §6.2 method 1): 48 bits of Unix
// milliseconds; the version, 7; a 12-bit counter that starts at a random
// value below 2,048 in each new millisecond and counts up, so the ids one
// process makes sort in the order it made them; the variant; 62 random bits.
// A counter that runs out moves on to the next millisecond (the RFC's own
// remedy), so ids never go backwards, not even when the clock does.
import { randomFillSync } from 'node:crypto'

const HEX = Buffer.from('0123456789abcdef', 'latin1')
/** Where each of the 16 bytes' two hex digits go in the 36-character text. */
const POSITIONS = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34]
const COUNTER_MAX = 0xfff

/** Makes log ids on the clock `now` (a parameter for tests). */
export function logIdMaker (now: () => number = Date.now): () => string {
  const bytes = new Uint8Array(16)
  const text = Buffer.from('00000000-0000-0000-0000-000000000000', 'latin1')
  // Random bytes drawn 4 KiB at a time: one call to the system's generator for hundreds of ids.
  const pool = Buffer.alloc(4096)
  let poolAt = pool.length
  const random = (count: number): number => {
    if (poolAt + count > pool.length) {
      randomFillSync(pool)
      poolAt = 0
    }
    const at = poolAt
    poolAt += count
    return at
  }
  let lastMs = -1
  let counter = 0

  return function newLogId (): string {
    const clock = now()
    if (clock > lastMs) {
      lastMs = clock
      counter = -1
    }
    if (counter < 0 || counter >= COUNTER_MAX) {
      if (counter >= COUNTER_MAX) lastMs++
      const at = random(2)
      counter = ((pool[at]! << 8) | pool[at + 1]!) & 0x7ff
    } else {
      counter++
    }
    const high = Math.floor(lastMs / 0x1000000)
    const low = lastMs % 0x1000000
    bytes[0] = high >>> 16
    bytes[1] = high >>> 8
    bytes[2] = high
    bytes[3] = low >>> 16
    bytes[4] = low >>> 8
    bytes[5] = low
    bytes[6] = 0x70 | (counter >>> 8)
    bytes[7] = counter
    const at = random(8)
    bytes[8] = 0x80 | (pool[at]! & 0x3f)
    for (let i = 9; i < 16; i++) bytes[i] = pool[at + i - 8]!
    for (let i = 0; i < 16; i++) {
      const byte = bytes[i]!
      const position = POSITIONS[i]!
      text[position] = HEX[byte >>> 4]!
      text[position + 1] = HEX[byte & 0xf]!
    }
    return text.toString('latin1')
  }
}

/** The process's log ids: one maker, so that all of them are ordered. */
export const newLogId = logIdMaker()
