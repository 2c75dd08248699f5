// The checked-string reader gives what protobufjs' own reader gives for every
// string field: the same text for valid UTF-8 of every width and length, and a
// refusal for bytes that are not UTF-8, which protobufjs refuses too.
import protobuf from 'protobufjs'
import t from 'tap'
import { checkedStringReader, InvalidUtf8 } from '../src/protobuf-reader.ts'

// proto3: strings are checked to be UTF-8 when decoded.
const { root } = protobuf.parse('syntax = "proto3"; message Note { string text = 1; repeated string tags = 2; int32 n = 3; }')
const Note = root.lookupType('Note')

function encode (fields: Record<string, unknown>): Buffer {
  return Buffer.from(Note.encode(Note.fromObject(fields)).finish())
}

/** A Note whose text field holds `bytes` as they are. */
function withTextBytes (bytes: number[]): Buffer {
  return Buffer.from([0x0a, bytes.length, ...bytes])
}

function decodeOurs (bytes: Buffer): Record<string, unknown> {
  return Note.toObject(Note.decode(checkedStringReader(bytes)))
}

function decodeTheirs (bytes: Buffer): Record<string, unknown> {
  // A plain Uint8Array: protobufjs' portable reader, which checks strings itself.
  return Note.toObject(Note.decode(new Uint8Array(bytes)))
}

function thrown (run: () => unknown): unknown {
  try {
    run()
  } catch (error) {
    return error
  }
  return undefined
}

void t.test('valid UTF-8 of every width, short and long, reads as protobufjs reads it', async (t) => {
  const texts = ['', 'a', 'plain ascii', 'x'.repeat(63), 'x'.repeat(64), 'y'.repeat(1000), 'café', 'é'.repeat(40), '日本語のログ',
    '🙂 emoji', `${'a'.repeat(70)}é`, 'tab\tnew\nline\u0000nul', '\u007f\u0080\u07ff\u0800\uffff', '𐀀\u{10ffff}']
  for (const text of texts) {
    const bytes = encode({ text, tags: [text, 'tag'], n: 7 })
    t.same(decodeOurs(bytes), decodeTheirs(bytes), JSON.stringify(text).slice(0, 40))
    t.equal(decodeOurs(bytes).text ?? '', text)
  }
  // Generated strings of mixed widths, around the 64-byte length where protobufjs changes method.
  const pool = ['a', 'Z', '~', 'é', 'ß', '€', '中', '🙂', ' ']
  let seed = 7
  const next = (): number => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed }
  for (let i = 0; i < 500; i++) {
    const text = Array.from({ length: next() % 80 }, () => pool[next() % pool.length]).join('')
    const bytes = encode({ text })
    t.equal(decodeOurs(bytes).text ?? '', text)
  }
})

void t.test('bytes that are not UTF-8 are refused, as protobufjs refuses them', async (t) => {
  const invalid: Array<[string, number[]]> = [
    ['a lone continuation byte', [0x61, 0x80]],
    ['a truncated two-byte sequence', [0x61, 0xc3]],
    ['an overlong NUL', [0xc0, 0x80]],
    ['an encoded surrogate', [0xed, 0xa0, 0x80]],
    ['past U+10FFFF', [0xf4, 0x90, 0x80, 0x80]],
    ['0xFF', [0xff]],
    ['a bad byte after 70 good ones', [...Buffer.from('a'.repeat(70)), 0xc3, 0x28]]
  ]
  for (const [name, bytes] of invalid) {
    const body = withTextBytes(bytes)
    t.ok(thrown(() => decodeOurs(body)) instanceof InvalidUtf8, name)
    t.ok(thrown(() => decodeTheirs(body)) instanceof Error, `${name}: protobufjs refuses it too`)
  }
})

void t.test('a string longer than what is left of the message is refused', async (t) => {
  t.ok(thrown(() => decodeOurs(Buffer.from([0x0a, 0x05, 0x61, 0x62]))) instanceof RangeError)
})

void t.test('a Uint8Array that is not a Buffer is read in place', async (t) => {
  const bytes = encode({ text: 'from a view', n: 3 })
  const view = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  t.same(Note.toObject(Note.decode(checkedStringReader(view))), { text: 'from a view', n: 3 })
})

void t.test('a oneof holds the field read last, whichever fields came before it', async (t) => {
  const { root } = protobuf.parse('syntax = "proto3"; message Value { oneof value { string text = 1; int32 number = 2; bool flag = 3; } }')
  const Value = root.lookupType('Value')
  const encoded = (fields: Record<string, unknown>): Buffer => Buffer.from(Value.encode(Value.fromObject(fields)).finish())
  const held = (message: protobuf.Message): string[] => ['text', 'number', 'flag'].filter((name) => Object.hasOwn(message, name))
  // The same field twice, or two fields of the oneof: protobuf takes the last one read.
  for (const [label, parts, last, value] of [
    ['one field', [{ text: 'a' }], 'text', 'a'],
    ['two fields', [{ text: 'a' }, { number: 7 }], 'number', 7],
    ['three fields, the first again last', [{ flag: true }, { number: 7 }, { flag: false }], 'flag', false],
    ['the same field twice', [{ text: 'a' }, { text: 'b' }], 'text', 'b']
  ] as const) {
    const message = Value.decode(checkedStringReader(Buffer.concat(parts.map(encoded)))) as protobuf.Message & Record<string, unknown>
    t.same(held(message), [last], `${label}: only the last is held`)
    t.equal(message[last], value, label)
    t.equal(message.value, last, `${label}: the oneof names it`)
  }
})
