// Reads a JSON or NDJSON body as it arrives, a piece at a time, giving the
// event loop back between pieces: its bytes are held to the route's limit and
// to the in-flight caps, scanned for their entries (src/body/entry-scanner.ts),
// and only then parsed, one entry at a time. Whatever the body holds (millions
// of lines or array elements, an object of a million keys, nesting a million
// deep), no step takes longer than one bounded entry.
import { isUtf8 } from 'node:buffer'
import type { Readable } from 'node:stream'
import { errorCodes } from 'fastify'
import secureJson from 'secure-json-parse'
import { Errors } from '../errors.ts'
import { RefusedEntry, UnparsableLine } from '../logs/validate.ts'
import { EntryScanner, type EntrySpan, type ScanLimits, type ScanMode } from './entry-scanner.ts'
import type { BodyHold } from './in-flight.ts'
import { Pacer } from './pace.ts'
import { wrappedBatchStart, wrappedEntries } from './wrapped-batch.ts'

/** Bytes scanned between two looks at the clock: a fraction of a millisecond of work. */
const PIECE_BYTES = 16 * 1024

/**
 * A body up to this size is parsed in one piece, and its entries and fields
 * counted on the parsed value: whatever such a body holds (keys, elements,
 * nesting), JSON.parse takes at most a few milliseconds of it, and for the
 * common small batch scanning every byte first, then parsing entry by entry,
 * would cost more than the parse itself. Larger bodies are scanned as they
 * arrive, and never parsed whole.
 */
export const WHOLE_PARSE_BYTES = 32 * 1024

// Same protection as Fastify's JSON parser: __proto__ and constructor.prototype are refused.
const POISON_CHECKS = { protoAction: 'error', constructorAction: 'error' } as const

export interface ReadOptions extends ScanLimits {
  mode: ScanMode
  /** The route's body limit, counted after decompression. */
  bodyLimit: number
  /** Content-Length as sent (NaN without one): compared with the bytes that came over the wire. */
  contentLength: number
  hold: BodyHold | null
}

let parsed = 0

/** How many JSON texts (entries, lines, whole bodies) JSON.parse has been given since the process started: what tests count. */
export function jsonTextsParsed (): number {
  return parsed
}

/** The request's payload; a decompressing one says how many bytes came over the wire. */
export type Payload = Readable & { receivedEncodedLength?: number }

/**
 * The body: for `whole`, the parsed value; for `entries` and `ndjson`, its
 * entries found but not yet parsed (ReceivedEntries), for the route to parse
 * and check one at a time.
 */
export async function readBody (payload: Payload, options: ReadOptions): Promise<unknown> {
  const arriving = new ArrivingBody(payload, options)
  const { chunks } = arriving
  // NDJSON is always scanned (its lines are parsed one by one anyway); JSON
  // only once it outgrows WHOLE_PARSE_BYTES. A body parsed whole (nearly
  // every one) needs no scanner, nor a clock.
  let scanner: EntryScanner | undefined
  let pacer: Pacer | undefined
  if (options.mode === 'ndjson') {
    scanner = new EntryScanner(options.mode, options)
    pacer = new Pacer()
  }
  await eachChunk(payload, (chunk) => {
    arriving.take(chunk)
    if (scanner === undefined || pacer === undefined) {
      if (arriving.received <= WHOLE_PARSE_BYTES) return undefined
      // Too big to parse whole: what came so far is scanned now, the rest as it comes.
      scanner = new EntryScanner(options.mode, options)
      pacer = new Pacer()
      const bytes = arriving.bytes()
      const opening = options.mode === 'entries' ? wrappedBatchStart(bytes) : 0
      if (opening > 0) scanner.openWrapped(opening)
      return feedPieces(scanner, pacer, bytes.subarray(opening))
    }
    // Only the work on this chunk counts toward the slice, not the wait for it.
    pacer.restart()
    if (chunk.length > PIECE_BYTES) return feedPieces(scanner, pacer, chunk)
    scanner.feed(chunk)
    return pacer.due() ? pacer.yield() : undefined
  })
  arriving.complete()
  // Parsed at once, the bytes as they came need no copy of their own.
  if (scanner === undefined) return parseWhole(chunks.length === 1 ? chunks[0]! : arriving.bytes(), options)
  const body = chunks.length === 1 ? Buffer.from(chunks[0]!) : arriving.bytes()
  scanner.finish()
  if (options.mode === 'ndjson') return new ReceivedEntries(body, scanner.spans, { single: false, ndjson: true, limits: options })
  if (body.length === 0) throw new errorCodes.FST_ERR_CTP_EMPTY_JSON_BODY()
  if (!isUtf8(body)) throw Errors.invalidEncoding()
  if (options.mode === 'whole') return parseJson(body.toString('utf8'))
  if (!scanner.isArray && scanner.spans.length === 0) throw new errorCodes.FST_ERR_CTP_INVALID_JSON_BODY()
  return new ReceivedEntries(body, scanner.spans, { single: !scanner.isArray, ndjson: false, limits: options })
}

/**
 * A binary body (protobuf), read whole: held to the route's limit (after
 * decompression, and on the wire) and to the in-flight caps as it arrives,
 * like a JSON body, and compared with Content-Length.
 */
export async function readBytes (payload: Payload, options: Pick<ReadOptions, 'bodyLimit' | 'contentLength' | 'hold'>): Promise<Buffer> {
  const arriving = new ArrivingBody(payload, options)
  await eachChunk(payload, (chunk) => { arriving.take(chunk); return undefined })
  arriving.complete()
  return arriving.bytes()
}

/**
 * A body's bytes as they arrive, JSON or binary: refused past the route's
 * limit (counted after decompression, and on the wire), taken from the
 * in-flight caps, and once complete compared with Content-Length.
 */
class ArrivingBody {
  readonly chunks: Buffer[] = []
  received = 0
  readonly #payload: Payload
  readonly #options: Pick<ReadOptions, 'bodyLimit' | 'contentLength' | 'hold'>

  constructor (payload: Payload, options: Pick<ReadOptions, 'bodyLimit' | 'contentLength' | 'hold'>) {
    if (options.contentLength > options.bodyLimit) throw Errors.bodyTooLarge(options.bodyLimit)
    this.#payload = payload
    this.#options = options
  }

  take (chunk: Buffer): void {
    this.received += chunk.length
    const { bodyLimit, hold } = this.#options
    if (this.received > bodyLimit || (this.#payload.receivedEncodedLength ?? 0) > bodyLimit) throw Errors.bodyTooLarge(bodyLimit)
    hold?.take(chunk.length)
    this.chunks.push(chunk)
  }

  complete (): void {
    const { contentLength } = this.#options
    if (!Number.isNaN(contentLength) && (this.#payload.receivedEncodedLength ?? this.received) !== contentLength) {
      throw new errorCodes.FST_ERR_CTP_INVALID_CONTENT_LENGTH()
    }
  }

  bytes (): Buffer {
    return Buffer.concat(this.chunks, this.received)
  }
}

/** Scans bytes a piece at a time, giving the event loop back between pieces when due. */
async function feedPieces (scanner: EntryScanner, pacer: Pacer, bytes: Buffer): Promise<void> {
  for (let at = 0; at < bytes.length; at += PIECE_BYTES) {
    scanner.feed(bytes.subarray(at, at + PIECE_BYTES))
    if (pacer.due()) await pacer.yield()
  }
}

/** A body small enough to parse in one piece: parsed, then held to the same counts the scanner keeps. */
function parseWhole (body: Buffer, options: ReadOptions): unknown {
  if (body.length === 0) throw new errorCodes.FST_ERR_CTP_EMPTY_JSON_BODY()
  if (!isUtf8(body)) throw Errors.invalidEncoding()
  const value = parseJson(body.toString('utf8'))
  if (options.mode === 'whole') {
    if (fieldsOf(value, options.maxFields) > options.maxFields) throw Errors.tooManyFields(options.maxFields)
    return value
  }
  const entries = Array.isArray(value) ? value : wrappedEntries(value)
  if (entries === undefined) return ReceivedEntries.parsed([value], true, options)
  if (entries.length > options.maxEntries) throw Errors.tooManyEntries(options.maxEntries)
  return ReceivedEntries.parsed(entries, false, options)
}

/**
 * The fields and array items of a parsed value, at every depth, counted as the
 * scanner counts them (each object or array counts its members, and at least
 * one); the count stops once past `limit`.
 */
export function fieldsOf (value: unknown, limit: number): number {
  if (typeof value !== 'object' || value === null) return 0
  let count = 0
  const pending: object[] = [value]
  while (pending.length > 0 && count <= limit) {
    const next = pending.pop()!
    let members = 0
    if (Array.isArray(next)) {
      for (const member of next as unknown[]) {
        members++
        if (typeof member === 'object' && member !== null) pending.push(member)
      }
    } else {
      // for…in over a parsed object: its own keys only, and no array of them made.
      for (const key in next) {
        members++
        const member = (next as Record<string, unknown>)[key]
        if (typeof member === 'object' && member !== null) pending.push(member)
      }
    }
    count += Math.max(1, members)
  }
  return count
}

const NO_BYTES = Buffer.alloc(0)
const NO_SPANS: EntrySpan[] = []

/**
 * The entries of a body, found by the scanner and parsed only when asked for,
 * one at a time, so that a route checks each as it is parsed and keeps only
 * what it needs of it: a thousand parsed entries are never all alive at once.
 */
export class ReceivedEntries {
  /** Whether the body was one entry rather than an array or NDJSON. */
  readonly single: boolean
  private readonly body: Buffer
  private readonly spans: EntrySpan[]
  private readonly ndjson: boolean
  private readonly limits: ScanLimits
  /** A small body's entries, parsed with it (parseWhole): nothing is left to parse. */
  private readonly values: unknown[] | undefined

  constructor (body: Buffer, spans: EntrySpan[], options: { single: boolean, ndjson: boolean, limits: ScanLimits, values?: unknown[] }) {
    this.body = body
    this.spans = spans
    this.single = options.single
    this.ndjson = options.ndjson
    this.limits = options.limits
    this.values = options.values
  }

  /** The entries of a body parsed whole; one with more fields than an entry may hold is refused at its index, as a scanned one would be. */
  static parsed (values: unknown[], single: boolean, limits: ScanLimits): ReceivedEntries {
    return new ReceivedEntries(NO_BYTES, NO_SPANS, { single, ndjson: false, limits, values })
  }

  get length (): number {
    return this.values?.length ?? this.spans.length
  }

  /** Every entry, parsed, for a route that takes the body as a whole (NDJSON on a route that is not ingest). */
  async all (): Promise<unknown[]> {
    const pacer = new Pacer()
    const entries: unknown[] = []
    for (let index = 0; index < this.length; index++) {
      entries.push(this.entry(index))
      if (pacer.due()) await pacer.yield()
    }
    return entries
  }

  /**
   * Entry `index`, parsed: one too big to read is a RefusedEntry, an NDJSON line
   * that is not JSON an UnparsableLine; a JSON element that is not JSON makes
   * the whole body invalid, as it would be for JSON.parse of all of it.
   */
  entry (index: number): unknown {
    if (this.values !== undefined) {
      const value = this.values[index]
      return fieldsOf(value, this.limits.maxFields) > this.limits.maxFields ? tooManyFields(this.limits) : value
    }
    const span = this.spans[index]
    if (span === undefined) throw new RangeError(`no entry ${index}`)
    const refused = refusal(span, this.limits)
    if (refused !== undefined) return refused
    if (!this.ndjson) return parseJson(this.body.toString('utf8', span.start, span.end))
    const bytes = this.body.subarray(span.start, span.end)
    const line = span.line ?? 0
    if (!isUtf8(bytes)) return new UnparsableLine(line, 'it is not valid UTF-8')
    parsed++
    try {
      return secureJson.parse(bytes.toString('utf8').trim(), undefined, POISON_CHECKS)
    } catch (error) {
      return new UnparsableLine(line, error instanceof Error ? error.message : String(error))
    }
  }
}

/**
 * Calls `onChunk` for each chunk of the stream, one at a time: while the
 * promise it may return is pending, the stream is paused. A failure stops the
 * reading: the rest of the body is left unread, and the answer will close the
 * connection.
 */
async function eachChunk (stream: Readable, onChunk: (chunk: Buffer) => Promise<void> | undefined): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    new ChunkReader(stream, onChunk, resolve, reject).start()
  })
}

// A class rather than closures made for every body: its listeners are bound
// once per reading, and nothing else is made.
class ChunkReader {
  private readonly stream: Readable
  private readonly onChunk: (chunk: Buffer) => Promise<void> | undefined
  private readonly resolve: () => void
  private readonly reject: (error: unknown) => void
  private readonly onData: (chunk: Buffer | string) => void
  private readonly onEnd: () => void
  private readonly onError: (error: Error & { statusCode?: number }) => void
  private pending: Promise<void> | undefined
  private settled = false

  constructor (stream: Readable, onChunk: (chunk: Buffer) => Promise<void> | undefined, resolve: () => void, reject: (error: unknown) => void) {
    this.stream = stream
    this.onChunk = onChunk
    this.resolve = resolve
    this.reject = reject
    this.onData = this.data.bind(this)
    this.onEnd = this.end.bind(this)
    this.onError = this.error.bind(this)
  }

  start (): void {
    this.stream.on('data', this.onData)
    this.stream.on('end', this.onEnd)
    this.stream.on('error', this.onError)
    this.stream.resume()
  }

  private settle (error?: unknown): void {
    if (this.settled) return
    this.settled = true
    const stream = this.stream
    stream.off('data', this.onData)
    stream.off('end', this.onEnd)
    stream.off('error', this.onError)
    if (error === undefined) {
      this.resolve()
      return
    }
    stream.pause()
    // An error the stream raises later (the client going away) has no one left to tell.
    stream.on('error', ignore)
    this.reject(error)
  }

  private data (chunk: Buffer | string): void {
    if (this.settled) return
    let pending: Promise<void> | undefined
    try {
      pending = this.onChunk(typeof chunk === 'string' ? Buffer.from(chunk) : chunk)
    } catch (error) {
      this.settle(error)
      return
    }
    if (pending === undefined) return
    this.pending = pending
    this.stream.pause()
    pending.then(() => {
      this.pending = undefined
      if (!this.settled) this.stream.resume()
    }, (error: unknown) => { this.settle(error) })
  }

  private end (): void {
    if (this.pending === undefined) this.settle()
    else this.pending.then(() => { this.settle() }, (error: unknown) => { this.settle(error) })
  }

  private error (error: Error & { statusCode?: number }): void {
    // The stream's own failures (a cut body, a client gone, bytes that do not inflate) are the client's.
    if (!(typeof error.statusCode === 'number' && error.statusCode >= 400)) error.statusCode = 400
    this.settle(error)
  }
}

function ignore (): void {}

function parseJson (text: string): unknown {
  parsed++
  try {
    return secureJson.parse(text, undefined, POISON_CHECKS)
  } catch {
    throw new errorCodes.FST_ERR_CTP_INVALID_JSON_BODY()
  }
}

function tooManyFields (limits: ScanLimits): RefusedEntry {
  return new RefusedEntry('too_many_fields',
    `holds more than ${limits.maxFields} fields and array items (counted at every depth), the most an entry may hold`)
}

/** The entry refused without being parsed, when the scan found it too big to be valid. */
function refusal (span: EntrySpan, limits: ScanLimits): RefusedEntry | undefined {
  if (span.refusal === 'fields') return tooManyFields(limits)
  if (span.refusal === 'bytes') {
    return new RefusedEntry('too_large', `takes ${span.end - span.start} bytes of JSON; an entry may take at most ${limits.maxEntryBytes}`)
  }
  return undefined
}
