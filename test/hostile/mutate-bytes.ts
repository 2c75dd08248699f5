// A seeded mutation of a valid binary body (protobuf, a Snappy block): cut
// short, bits flipped, random bytes inserted, or replaced by noise, so that a
// decoder meets what a broken or hostile client sends.
import type { Prng } from './prng.ts'

export function mutateBytes (prng: Prng, bytes: Buffer): Buffer {
  const copy = Buffer.from(bytes)
  switch (prng.int(0, 3)) {
    case 0: return copy.subarray(0, prng.int(0, copy.length - 1))
    case 1: {
      for (let i = 0; i < prng.int(1, 8); i++) {
        const at = prng.int(0, copy.length - 1)
        copy[at] = copy[at]! ^ (1 << prng.int(0, 7))
      }
      return copy
    }
    case 2: {
      const at = prng.int(0, copy.length - 1)
      return Buffer.concat([copy.subarray(0, at), Buffer.from(Array.from({ length: prng.int(1, 32) }, () => prng.int(0, 255))), copy.subarray(at)])
    }
    default: return Buffer.from(Array.from({ length: prng.int(1, 512) }, () => prng.int(0, 255)))
  }
}
