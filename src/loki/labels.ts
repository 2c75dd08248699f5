// A stream's labels as Loki's protobuf push carries them: one string in
// Prometheus' selector syntax, `{app="nightly-etl", env="production"}`. Read as
// Loki reads it: names are identifiers (or quoted, as Prometheus 3 allows),
// values are double-quoted strings with Go's escapes (\" \\ \n \t \xHH \u…)
// or `raw` backquoted ones, pairs are separated by commas (one may trail),
// whitespace between tokens is ignored, and a name given twice is an error.
// A label whose value is empty is absent, as in Prometheus.

/** Thrown for text that is not a label set, with what is wrong and where. */
export class LabelSyntaxError extends Error {
  override name = 'LabelSyntaxError'
}

const NAME_START = /[A-Za-z_]/
const NAME_PART = /[A-Za-z0-9_]/
const SIMPLE_ESCAPES: Record<string, string> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\', '"': '"' }
const utf8 = new TextDecoder('utf-8', { fatal: true })
/** Characters a double-quoted value holds as they are. */
const PLAIN_RUN = /[^"\\\n]*/y

/** The labels of `{name="value", …}` as an object; throws LabelSyntaxError when the text is not one. */
export function parseLabels (text: string): Record<string, string> {
  const reader = new LabelReader(text)
  return reader.labelSet()
}

class LabelReader {
  readonly #text: string
  #at = 0

  constructor (text: string) {
    this.#text = text
  }

  labelSet (): Record<string, string> {
    const labels: Record<string, string> = Object.create(null) as Record<string, string>
    const seen = new Set<string>()
    this.#skipSpace()
    this.#expect('{')
    this.#skipSpace()
    while (this.#peek() !== '}') {
      const name = this.#name()
      this.#skipSpace()
      this.#expect('=')
      this.#skipSpace()
      const value = this.#string()
      if (seen.has(name)) throw this.#error(`the label "${name}" is given twice`)
      seen.add(name)
      if (value !== '') labels[name] = value
      this.#skipSpace()
      if (this.#peek() !== ',') break
      this.#at++
      this.#skipSpace()
    }
    this.#expect('}')
    this.#skipSpace()
    if (this.#at < this.#text.length) throw this.#error('text follows the closing "}"')
    return labels
  }

  #name (): string {
    const first = this.#peek()
    if (first === '"') return this.#string()
    if (first === undefined || !NAME_START.test(first)) throw this.#error('a label name is expected')
    const start = this.#at
    while (this.#at < this.#text.length && NAME_PART.test(this.#text[this.#at]!)) this.#at++
    return this.#text.slice(start, this.#at)
  }

  #string (): string {
    const quote = this.#peek()
    if (quote === '`') {
      const end = this.#text.indexOf('`', this.#at + 1)
      if (end < 0) throw this.#error('a `-quoted value is not closed')
      const value = this.#text.slice(this.#at + 1, end)
      this.#at = end + 1
      return value
    }
    if (quote !== '"') throw this.#error('a quoted value is expected')
    this.#at++
    // Runs of plain characters are taken whole. Escapes may name single bytes
    // (\xHH, \ooo), which only together make UTF-8: those are kept as numbers.
    const pieces: Array<string | number> = []
    let bytes = false
    for (;;) {
      PLAIN_RUN.lastIndex = this.#at
      const run = PLAIN_RUN.exec(this.#text)![0]
      if (run !== '') pieces.push(run)
      this.#at += run.length
      const char = this.#text[this.#at]
      if (char === undefined || char === '\n') throw this.#error('a quoted value is not closed')
      this.#at++
      if (char === '"') break
      const escaped = this.#escape()
      if (typeof escaped === 'number') bytes = true
      pieces.push(escaped)
    }
    if (!bytes) return pieces.join('')
    try {
      return utf8.decode(Buffer.concat(pieces.map((piece) => typeof piece === 'string' ? Buffer.from(piece, 'utf8') : Buffer.of(piece))))
    } catch {
      throw this.#error('a value\'s escapes do not make valid UTF-8')
    }
  }

  /** The escape after a backslash: its text, or the one byte it names. */
  #escape (): string | number {
    const kind = this.#text[this.#at]
    if (kind === undefined) throw this.#error('an escape is cut short')
    this.#at++
    const simple = SIMPLE_ESCAPES[kind]
    if (simple !== undefined) return simple
    if (kind === 'x') return this.#hex(2)
    if (kind === 'u' || kind === 'U') {
      const point = this.#hex(kind === 'u' ? 4 : 8)
      if (point > 0x10ffff || (point >= 0xd800 && point <= 0xdfff)) throw this.#error('a \\u escape names no Unicode character')
      return String.fromCodePoint(point)
    }
    if (kind >= '0' && kind <= '7') {
      const digits = kind + this.#text.slice(this.#at, this.#at + 2)
      if (!/^[0-7]{3}$/.test(digits) || Number.parseInt(digits, 8) > 0xff) throw this.#error('an octal escape takes three digits up to \\377')
      this.#at += 2
      return Number.parseInt(digits, 8)
    }
    throw this.#error(`"\\${kind}" is not an escape`)
  }

  #hex (digits: number): number {
    const text = this.#text.slice(this.#at, this.#at + digits)
    if (text.length !== digits || !/^[0-9A-Fa-f]+$/.test(text)) throw this.#error(`an escape takes ${digits} hex digits`)
    this.#at += digits
    return Number.parseInt(text, 16)
  }

  #peek (): string | undefined {
    return this.#text[this.#at]
  }

  #expect (char: string): void {
    if (this.#peek() !== char) throw this.#error(`"${char}" is expected`)
    this.#at++
  }

  #skipSpace (): void {
    while (this.#at < this.#text.length && ' \t\r\n'.includes(this.#text[this.#at]!)) this.#at++
  }

  #error (problem: string): LabelSyntaxError {
    return new LabelSyntaxError(`${problem} at character ${this.#at + 1}`)
  }
}
