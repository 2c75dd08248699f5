// A protobufjs reader for Node buffers whose checked strings cost one string
// each. proto3 `string` fields must hold valid UTF-8, and protobufjs checks
// it, but only with its portable code: under 64 bytes it builds the string
// eight characters at a time (a chain of partial strings for every field),
// longer through a TextDecoder. Its Buffer reader reads unchecked strings
// with Node's own decoder and has no such path for checked ones. Log records
// are mostly short ASCII strings (attribute names, label values, ids, lines),
// and that portable path was a sixth of what a Loki entry allocated.
import { isUtf8 } from 'node:buffer'
import protobuf from 'protobufjs'

// A oneof's setter, which protobufjs' decoder calls after each field of the
// oneof it reads (OTLP's AnyValue: every attribute value), deletes each of
// the oneof's other fields from the message, though only one is ever there:
// six deletes of absent properties per value, each a call into V8's runtime.
// This one deletes only a field the message holds, with the same outcome (a
// field read later replaces one read earlier). Set before any message type
// builds its setters, which it does on first use.
protobuf.util.oneOfSetter = function oneOfSetter (fieldNames: string[]) {
  return function (this: Record<string, unknown>, name: string | undefined): void {
    for (const fieldName of fieldNames) {
      if (fieldName !== name && Object.hasOwn(this, fieldName)) delete this[fieldName]
    }
  }
}

/** Thrown for a string field whose bytes are not UTF-8. */
export class InvalidUtf8 extends Error {}

export class CheckedStringReader extends protobuf.BufferReader {
  declare buf: Buffer

  override stringVerify (): string {
    const length = this.size()
    const start = this.pos
    const end = start + length
    if (end > this.len) throw new RangeError(`index out of range: ${start} + ${length} > ${this.len}`)
    this.pos = end
    const bytes = this.buf
    for (let i = start; i < end; i++) {
      if (bytes[i]! >= 0x80) {
        if (!isUtf8(bytes.subarray(start, end))) throw new InvalidUtf8(`a string field at byte ${start} is not valid UTF-8`)
        return bytes.toString('utf8', start, end)
      }
    }
    // Only ASCII: Latin-1 decoding gives the same characters, into a one-byte string.
    return bytes.toString('latin1', start, end)
  }
}

/** A reader of `bytes`, for a protobufjs Type's decode. */
export function checkedStringReader (bytes: Uint8Array): CheckedStringReader {
  return new CheckedStringReader(Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength))
}
