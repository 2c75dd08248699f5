// Snappy in its block format, which Loki clients (Promtail, Grafana Alloy,
// winston-loki, Vector) compress a protobuf push with. A block starts with its
// uncompressed length, so a body that would inflate past the limit (a "snappy
// bomb") is refused from its first bytes, before anything is allocated.
// Decompression runs off the event loop, in the library's native code, which
// also checks that the block holds exactly the bytes its header announces.
import { uncompress } from 'snappy'
import type { BodyHold } from '../body/in-flight.ts'
import { Errors } from '../errors.ts'

/** A uint32 varint takes at most five bytes. */
const MAX_VARINT_BYTES = 5

/** The uncompressed length a block announces (a little-endian base-128 varint of at most 32 bits), or undefined when it has none. */
export function uncompressedLength (block: Uint8Array): number | undefined {
  let length = 0
  for (let i = 0; i < MAX_VARINT_BYTES && i < block.length; i++) {
    const byte = block[i]!
    length += (byte & 0x7f) * 2 ** (7 * i)
    if (byte < 0x80) return length <= 0xffffffff ? length : undefined
  }
  return undefined
}

/**
 * The bytes a Snappy block holds: 413 when it announces more than `limit`,
 * 400 when it is not a valid block. The bytes it will hold are taken from the
 * request's in-flight hold first, as a decompressed body's are.
 */
export async function unsnappy (block: Buffer, limit: number, hold: BodyHold | null = null): Promise<Buffer> {
  const length = uncompressedLength(block)
  if (length === undefined) throw Errors.invalidCompressedBody('it is not Snappy (block format): its length header is malformed.')
  if (length > limit) throw Errors.bodyTooLarge(limit)
  hold?.take(length)
  try {
    return await uncompress(block, { asBuffer: true }) as Buffer
  } catch (error) {
    throw Errors.invalidCompressedBody(`it is not valid Snappy (block format): ${error instanceof Error ? error.message : String(error)}.`)
  }
}
