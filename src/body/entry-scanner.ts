// Finds where the entries of a body are, as its bytes arrive, without
// parsing any of them: the elements of a top-level JSON array, or the
// non-blank lines of NDJSON. Each entry's fields and array items are counted
// on the way, so that an entry too big to be valid is refused before
// anything is built from it, and the count of entries stops the body at the
// first one past the limit. JSON.parse is then only given entries whose cost
// is bounded (see src/body/read-entries.ts).
import { errorCodes } from 'fastify'
import { Errors } from '../errors.ts'
import { onlyLogsInWrapper } from './wrapped-batch.ts'

const QUOTE = 0x22
const BACKSLASH = 0x5c
const COMMA = 0x2c
const OPEN_BRACKET = 0x5b
const CLOSE_BRACKET = 0x5d
const OPEN_BRACE = 0x7b
const CLOSE_BRACE = 0x7d
const NEWLINE = 0x0a

/** JSON's whitespace (space, tab, LF, CR); NDJSON lines of nothing else, \v and \f included, are blank. */
function isSpace (byte: number): boolean {
  return byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0d
}

function isBlankByte (byte: number): boolean {
  return isSpace(byte) || byte === 0x0b || byte === 0x0c
}

/** Why an entry was refused unparsed. */
export type Refusal = 'fields' | 'bytes'

export interface EntrySpan {
  /** Byte offsets in the whole body: [start, end). */
  start: number
  end: number
  refusal?: Refusal
  /** NDJSON: the line's number, counting from 1 (blank lines included). */
  line?: number
}

export interface ScanLimits {
  /** Entries beyond this are refused at once, 413 too_many_entries. */
  maxEntries: number
  /** Fields and array items (at any depth) one entry may hold. */
  maxFields: number
  /** Bytes of JSON text one entry may take. */
  maxEntryBytes: number
}

/**
 * `entries`: a JSON array whose elements are entries, or one JSON value that is
 * the only entry. `ndjson`: one entry per non-blank line. `whole`: one JSON
 * value, not split (the other routes' bodies), whose fields are counted too.
 */
export type ScanMode = 'entries' | 'ndjson' | 'whole'

type Phase = 'before' | 'array' | 'single' | 'after'

export class EntryScanner {
  readonly spans: EntrySpan[] = []
  /** Entries mode: whether the body is a JSON array (else a single value). */
  isArray = false
  /** The array is wrapped, `{"logs": [...]}` (wrapped-batch.ts): after it, one closing brace; `braceClosed` once read. */
  private wrapped = false
  private braceClosed = false
  private readonly mode: ScanMode
  private readonly limits: ScanLimits
  private phase: Phase
  /** Bytes fed so far: the offset of the next byte in the whole body. */
  private offset = 0
  private entries = 0
  // The entry (array element, line or whole value) being scanned.
  private entryStart = 0
  private fields = 0
  private significant = false
  private line = 1
  private depth = 0
  private inString = false
  /** Backslashes that ended the previous piece inside a string: an odd count escapes the next byte. */
  private carriedBackslashes = 0

  constructor (mode: ScanMode, limits: ScanLimits) {
    this.mode = mode
    this.limits = limits
    this.phase = mode === 'ndjson' ? 'single' : 'before'
  }

  /**
   * The body is a wrapped batch whose opening, up to its array's `[`, takes
   * the first `opening` bytes: they are read already, and the next bytes fed
   * are the array's.
   */
  openWrapped (opening: number): void {
    this.wrapped = true
    this.isArray = true
    this.phase = 'array'
    this.depth = 1
    this.offset = opening
    this.resetEntry(opening)
  }

  /** Scans the next bytes of the body; throws 413 too_many_entries (or too_many_fields for a whole body) at once. */
  feed (bytes: Buffer): void {
    if (this.mode === 'ndjson') this.feedLines(bytes)
    else this.feedJson(bytes)
    this.offset += bytes.length
  }

  /** The body is complete: closes the last entry. Throws invalid JSON for an array that was not closed. */
  finish (): void {
    if (this.mode === 'ndjson') {
      this.endLine(this.offset)
      return
    }
    if (this.phase === 'array' || (this.wrapped && !this.braceClosed)) throw invalidJson()
    if (this.phase === 'single') this.endEntry(this.offset)
  }

  private feedLines (bytes: Buffer): void {
    let at = 0
    while (at < bytes.length) {
      // Between entries, blank bytes and blank lines go by in one tight loop: a flood of them costs little.
      if (!this.significant) {
        at = this.skipBlankLines(bytes, at)
        if (at === bytes.length) return
      }
      const newline = bytes.indexOf(NEWLINE, at)
      const end = newline === -1 ? bytes.length : newline
      if (this.fields <= this.limits.maxFields) this.scanValue(bytes, at, end)
      if (newline === -1) return
      this.endLine(this.offset + newline)
      at = newline + 1
    }
  }

  private skipBlankLines (bytes: Buffer, from: number): number {
    let at = from
    for (; at < bytes.length; at++) {
      const byte = bytes[at]!
      if (byte === NEWLINE) {
        this.line++
        this.entryStart = this.offset + at + 1
      } else if (byte !== 0x20 && byte !== 0x09 && byte !== 0x0d && byte !== 0x0b && byte !== 0x0c) {
        break
      }
    }
    return at
  }

  private endLine (end: number): void {
    if (this.significant) this.endEntry(end)
    this.line++
    this.resetEntry(end + 1)
  }

  private feedJson (bytes: Buffer): void {
    let at = 0
    while (at < bytes.length) {
      if (this.phase === 'before') at = this.skipLeadingSpace(bytes, at)
      else if (this.phase === 'array') at = this.scanElements(bytes, at)
      else if (this.phase === 'single') at = this.scanSingle(bytes, at)
      else at = this.skipTrailingSpace(bytes, at)
    }
  }

  /** Whitespace and a byte order mark before the value; then the value decides the phase. */
  private skipLeadingSpace (bytes: Buffer, from: number): number {
    let at = from
    if (this.offset + at === 0 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) at = 3
    while (at < bytes.length && isSpace(bytes[at]!)) at++
    if (at === bytes.length) return at
    if (this.mode === 'entries' && bytes[at] === OPEN_BRACKET) {
      this.isArray = true
      this.phase = 'array'
      this.depth = 1
      this.resetEntry(this.offset + at + 1)
      return at + 1
    }
    this.phase = 'single'
    // The whole body is the entry, from its first byte (a byte order mark is JSON.parse's to skip).
    this.resetEntry(0)
    return at
  }

  private skipTrailingSpace (bytes: Buffer, from: number): number {
    for (let at = from; at < bytes.length; at++) {
      const byte = bytes[at]!
      if (isSpace(byte)) continue
      if (this.wrapped && !this.braceClosed) {
        if (byte === CLOSE_BRACE) {
          this.braceClosed = true
          continue
        }
        if (byte === COMMA) throw onlyLogsInWrapper()
      }
      throw invalidJson()
    }
    return bytes.length
  }

  private scanSingle (bytes: Buffer, from: number): number {
    if (this.fields <= this.limits.maxFields) this.scanValue(bytes, from, bytes.length)
    if (this.mode === 'whole' && this.fields > this.limits.maxFields) throw Errors.tooManyFields(this.limits.maxFields)
    return bytes.length
  }

  /** Counts the fields and items of a value (or of what is left of it) in bytes[from, to), string by string. */
  private scanValue (bytes: Buffer, from: number, to: number): void {
    let at = from
    if (this.inString) at = this.skipString(bytes, at, to)
    for (; at < to; at++) {
      const byte = bytes[at]!
      if (byte === QUOTE) {
        this.significant = true
        at = this.skipString(bytes, at + 1, to) - 1
      } else if (byte === COMMA || byte === OPEN_BRACE || byte === OPEN_BRACKET) {
        this.significant = true
        if (++this.fields > this.limits.maxFields) return
      } else if (!this.significant && !isBlankByte(byte)) {
        this.significant = true
      }
    }
  }

  /** Elements of the top-level array: a comma at depth 1 ends one, the closing bracket the array. */
  private scanElements (bytes: Buffer, from: number): number {
    let at = from
    if (this.inString) at = this.skipString(bytes, at, bytes.length)
    // Kept in locals while the loop runs, which the JIT keeps in registers.
    let depth = this.depth
    let fields = this.fields
    try {
      for (; at < bytes.length; at++) {
        const byte = bytes[at]!
        if (byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09) continue
        if (depth === 1 && (byte === COMMA || byte === CLOSE_BRACKET)) {
          this.fields = fields
          // An empty element ([1,,2] or [1,]) is kept, for JSON.parse to refuse.
          if (this.significant || byte === COMMA || this.entries > 0) {
            if (!this.significant) this.beginEntry()
            this.endEntry(this.offset + at)
          }
          if (byte === CLOSE_BRACKET) {
            this.phase = 'after'
            return at + 1
          }
          this.resetEntry(this.offset + at + 1)
          fields = 0
          continue
        }
        if (!this.significant) this.beginEntry()
        if (byte === QUOTE) {
          at = this.skipString(bytes, at + 1, bytes.length) - 1
        } else if (byte === OPEN_BRACE || byte === OPEN_BRACKET) {
          depth++
          fields++
        } else if (byte === CLOSE_BRACE || byte === CLOSE_BRACKET) {
          // A closing brace at depth 1 can close nothing: the body is not JSON.
          if (depth === 1) throw invalidJson()
          depth--
        } else if (byte === COMMA) {
          fields++
        }
      }
      return at
    } finally {
      this.depth = depth
      this.fields = fields
    }
  }

  /** From inside a string: the index after its closing quote, or `to` when it goes on past it. */
  private skipString (bytes: Buffer, from: number, to: number): number {
    this.inString = true
    let quote = bytes.indexOf(QUOTE, from)
    while (quote !== -1 && quote < to) {
      let before = quote - 1
      while (before >= from && bytes[before] === BACKSLASH) before--
      let backslashes = quote - 1 - before
      if (before < from) backslashes += this.carriedBackslashes
      if (backslashes % 2 === 0) {
        this.inString = false
        this.carriedBackslashes = 0
        return quote + 1
      }
      quote = bytes.indexOf(QUOTE, quote + 1)
    }
    let before = to - 1
    while (before >= from && bytes[before] === BACKSLASH) before--
    this.carriedBackslashes = to - 1 - before + (before < from ? this.carriedBackslashes : 0)
    return to
  }

  private beginEntry (): void {
    this.significant = true
    if (++this.entries > this.limits.maxEntries) throw Errors.tooManyEntries(this.limits.maxEntries)
  }

  private endEntry (end: number): void {
    if (this.mode === 'ndjson') this.beginEntry()
    const span: EntrySpan = { start: this.entryStart, end }
    if (this.fields > this.limits.maxFields) span.refusal = 'fields'
    else if (end - this.entryStart > this.limits.maxEntryBytes) span.refusal = 'bytes'
    if (this.mode === 'ndjson') span.line = this.line
    this.spans.push(span)
  }

  private resetEntry (start: number): void {
    this.entryStart = start
    this.fields = 0
    this.significant = false
    this.inString = false
    this.carriedBackslashes = 0
  }
}

/** The body is not JSON, found before it was parsed: the same error as Fastify's JSON parser gives. */
function invalidJson (): Error {
  return new errorCodes.FST_ERR_CTP_INVALID_JSON_BODY()
}
