// Loki push entries as log entries of this service: each entry (a JSON value
// or a protobuf entry) becomes one entry in the native ingest form, which the
// native checks then judge (checkEntries), so every rule of POST /api/v1/logs
// holds. The README's "Send logs from Loki clients" has the mapping as a table.
import secureJson from 'secure-json-parse'
import type { MappedEntries } from '../logs/check-entries.ts'
import { levelFromName } from '../logs/level-names.ts'
import { ENTRY_MAX_BYTES } from '../logs/schemas.ts'
import { RefusedEntry } from '../logs/validate.ts'
import type { EntryDefaults } from '../logs/logger-shapes.ts'
import { FALLBACK_ENVIRONMENT, FALLBACK_STATUS } from '../logs/shipper-fallbacks.ts'
import { LabelSyntaxError, parseLabels } from './labels.ts'
import type { DecodedEntry, DecodedPush, DecodedStream, PushLabelPair } from './proto.ts'
import type { LokiPushJson } from './schemas.ts'

type Labels = Readonly<Record<string, string>>

/** An entry's structured metadata: name/value pairs (protobuf; a later pair wins over an earlier one of its name) or an object (JSON). */
type Metadata = readonly PushLabelPair[] | Readonly<Record<string, string>>

const ENVIRONMENT_KEYS = ['environment', 'env'] as const
const LEVEL_KEYS = ['level', 'severity', 'detected_level'] as const
/** Loki's own order of preference where it finds a service name. */
const WORKFLOW_NAME_FALLBACK_KEYS = ['service_name', 'app', 'job'] as const
/** Fields lifted into the columns of the same name when they are text. */
const LIFTED_TEXT = ['status', 'workflow_id', 'workflow_name', 'run_id', 'step', 'event_id', 'trace_id'] as const
/** A JSON line's message and time. */
const MESSAGE_KEYS = ['msg', 'message'] as const
const TIME_KEYS = ['time', 'timestamp', 'ts'] as const
/** Every field an entry's columns may be taken from, each with a bit of its own in EntryFields' record of what it took. */
const TAKEN_BITS = new Map([...ENVIRONMENT_KEYS, ...LEVEL_KEYS, ...WORKFLOW_NAME_FALLBACK_KEYS, ...LIFTED_TEXT, ...MESSAGE_KEYS, ...TIME_KEYS, 'duration_ms']
  .map((name, i) => [name, 2 ** i]))
type TakenName = typeof ENVIRONMENT_KEYS[number] | typeof LEVEL_KEYS[number] | typeof WORKFLOW_NAME_FALLBACK_KEYS[number] |
  typeof LIFTED_TEXT[number] | typeof MESSAGE_KEYS[number] | typeof TIME_KEYS[number] | 'duration_ms'
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/
const NO_LABELS: Labels = Object.freeze({})
// As for any JSON body: __proto__ and constructor.prototype make a line plain text, not fields.
const POISON_CHECKS = { protoAction: 'error', constructorAction: 'error' } as const

/**
 * The entries of a push's streams, numbered across streams in order, each
 * mapped only when checkEntries asks for it, so that no copy of a thousand
 * entries is made on the way. Each stream's labels are read once, for all
 * its entries.
 */
abstract class StreamEntries<Stream, Entry> implements MappedEntries {
  readonly length: number
  readonly #streams: readonly Stream[]
  /** The number of the first entry of each stream. */
  readonly #starts: number[] = []
  readonly #labels: Array<Labels | LabelSyntaxError> = []
  readonly #listName: string

  constructor (streams: readonly Stream[], listName: 'values' | 'entries') {
    this.#streams = streams
    this.#listName = listName
    let length = 0
    for (const stream of streams) {
      this.#starts.push(length)
      this.#labels.push(this.labelsOf(stream))
      length += this.entriesOf(stream).length
    }
    this.length = length
  }

  protected abstract labelsOf (stream: Stream): Labels | LabelSyntaxError
  protected abstract entriesOf (stream: Stream): readonly Entry[]
  /** Milliseconds since the epoch; undefined: none (a timestamp of 0 or less). */
  protected abstract timeOf (entry: Entry): number | undefined
  protected abstract lineOf (entry: Entry): string
  protected abstract metadataOf (entry: Entry): Metadata

  toEntry (index: number, receivedAt: Date, defaults: EntryDefaults): Record<string, unknown> | RefusedEntry {
    const stream = this.#streamOf(index)
    const entry = this.entriesOf(this.#streams[stream]!)[index - this.#starts[stream]!]!
    return toEntry(this.#labels[stream]!, this.timeOf(entry), this.lineOf(entry), this.metadataOf(entry), receivedAt, defaults)
  }

  path (index: number): string {
    const stream = this.#streamOf(index)
    return `streams[${stream}].${this.#listName}[${index - this.#starts[stream]!}]`
  }

  /** The stream the entry at `index` is in: the last whose first entry is at or before it (streams without entries are passed over). */
  #streamOf (index: number): number {
    let low = 0
    let high = this.#starts.length - 1
    while (low < high) {
      const middle = (low + high + 1) >>> 1
      if (this.#starts[middle]! <= index) low = middle
      else high = middle - 1
    }
    return low
  }
}

type JsonStream = LokiPushJson['streams'][number]
type JsonValue = NonNullable<JsonStream['values']>[number]

class JsonPushEntries extends StreamEntries<JsonStream, JsonValue> {
  protected labelsOf (stream: JsonStream): Labels { return stream.stream ?? NO_LABELS }
  protected entriesOf (stream: JsonStream): readonly JsonValue[] { return stream.values ?? [] }
  protected lineOf ([, line]: JsonValue): string { return line }
  protected metadataOf ([, , metadata]: JsonValue): Metadata { return metadata ?? NO_LABELS }
  protected timeOf ([timestamp]: JsonValue): number | undefined {
    const nanos = BigInt(timestamp)
    return nanos <= 0n ? undefined : Number(nanos / 1_000_000n)
  }
}

class ProtobufPushEntries extends StreamEntries<DecodedStream, DecodedEntry> {
  protected labelsOf (stream: DecodedStream): Labels | LabelSyntaxError { return labelsOf(stream.labels) }
  protected entriesOf (stream: DecodedStream): readonly DecodedEntry[] { return stream.entries }
  protected lineOf (entry: DecodedEntry): string { return entry.line }
  protected metadataOf (entry: DecodedEntry): Metadata { return entry.structuredMetadata }
  /**
   * From seconds and nanoseconds without 64-bit arithmetic: the whole
   * milliseconds of seconds × 10^9 + nanos are seconds × 1000 plus those of
   * nanos, and doubles hold them exactly for every time up to the year
   * 9999 (a time beyond is refused anyway). The sum's sign is right even
   * where a double rounds it: seconds and nanos can cancel only when both
   * are small.
   */
  protected timeOf ({ timestamp }: DecodedEntry): number | undefined {
    if (timestamp === null) return undefined
    const seconds = typeof timestamp.seconds === 'number' ? timestamp.seconds : timestamp.seconds.toNumber()
    if (seconds * 1e9 + timestamp.nanos <= 0) return undefined
    return seconds * 1000 + Math.floor(timestamp.nanos / 1e6)
  }
}

/** The entries of a JSON push. */
export function jsonEntries (push: LokiPushJson): MappedEntries {
  return new JsonPushEntries(push.streams, 'values')
}

/** The entries of a protobuf push; a stream whose labels do not parse gives its entries the reason. */
export function protobufEntries (push: DecodedPush): MappedEntries {
  return new ProtobufPushEntries(push.streams, 'entries')
}

/** The number of entries of a JSON push, counted without building anything. */
export function countJsonEntries (push: LokiPushJson): number {
  let count = 0
  for (const stream of push.streams) count += stream.values?.length ?? 0
  return count
}

/** The number of entries of a protobuf push, counted without building anything. */
export function countProtobufEntries (push: DecodedPush): number {
  let count = 0
  for (const stream of push.streams) count += stream.entries.length
  return count
}

function labelsOf (text: string): Labels | LabelSyntaxError {
  if (text.trim() === '') return NO_LABELS
  try {
    return parseLabels(text)
  } catch (error) {
    if (error instanceof LabelSyntaxError) return error
    throw error
  }
}

/**
 * The entry as a native log entry (not yet checked), or the reason it cannot
 * be one. Its fields come from the stream's labels, then its structured
 * metadata, then (for a line that is a JSON object) the line's own fields:
 * the later wins on a clash. `receivedAt` stands in for an entry without a time.
 */
function toEntry (labels: Labels | LabelSyntaxError, timeMs: number | undefined, line: string, metadata: Metadata,
  receivedAt: Date, defaults: EntryDefaults): Record<string, unknown> | RefusedEntry {
  if (labels instanceof LabelSyntaxError) {
    return new RefusedEntry('invalid_labels', `the stream's labels are not in Prometheus' syntax ({name="value", …}): ${labels.message}`)
  }
  const lineFields = objectOf(line)
  const fields = new EntryFields(labels, metadata, lineFields)
  let message: string | undefined = line
  let lineTime: Date | undefined
  if (lineFields !== undefined) {
    message = fields.take(MESSAGE_KEYS, messageOf)
    lineTime = fields.take(TIME_KEYS, timeOf)
  }

  const time = timeMs === undefined ? undefined : validDate(new Date(timeMs))
  if (time === undefined && timeMs !== undefined) return new RefusedEntry('out_of_range', 'the timestamp must be a time between the years 0001 and 9999')
  const entry: Record<string, unknown> = {
    environment: fields.take(ENVIRONMENT_KEYS, textOf) ?? defaults.environment ?? FALLBACK_ENVIRONMENT,
    executed_at: (time ?? lineTime ?? receivedAt).toISOString(),
    status: defaults.status ?? FALLBACK_STATUS,
    level: fields.take(LEVEL_KEYS, levelOf) ?? 'info'
  }
  if (message !== undefined) entry.message = message
  for (const name of LIFTED_TEXT) {
    const value = fields.takeOne(name, textOf)
    if (value !== undefined) entry[name] = value
  }
  const duration = fields.takeOne('duration_ms', durationOf)
  if (duration !== undefined) entry.duration_ms = duration
  // Set only when there is one: a delete would turn the entry into a slow dictionary.
  const workflowName = entry.workflow_name ?? fields.take(WORKFLOW_NAME_FALLBACK_KEYS, textOf)
  if (workflowName !== undefined) entry.workflow_name = workflowName
  const attributes = fields.rest()
  if (attributes !== undefined) entry.attributes = attributes
  return entry
}

const ABSENT = Symbol('absent')

/**
 * An entry's fields as one set, read where they are: the stream's labels,
 * then the structured metadata, then a JSON line's fields, a later one
 * hiding an earlier one of its name. Fields taken into columns are only
 * noted as taken; what is left becomes the attributes. (A Map merging the
 * three, from which fields were deleted, was a seventh of what an entry
 * allocated.)
 */
class EntryFields {
  readonly #labels: Labels
  readonly #metadata: Metadata
  readonly #line: Readonly<Record<string, unknown>> | undefined
  /** The TAKEN_BITS of the fields taken. */
  #taken = 0

  constructor (labels: Labels, metadata: Metadata, line: Readonly<Record<string, unknown>> | undefined) {
    this.#labels = labels
    this.#metadata = metadata
    this.#line = line
  }

  /** The first of `names` that `read` makes a value of (see takeOne). */
  take<T> (names: readonly TakenName[], read: (value: unknown) => T | undefined): T | undefined {
    for (const name of names) {
      const value = this.takeOne(name, read)
      if (value !== undefined) return value
    }
    return undefined
  }

  /**
   * The field `name` as `read` makes it, which takes it out of the fields;
   * when there is none, or `read` makes nothing of it (undefined), it stays,
   * as an attribute.
   */
  takeOne<T> (name: TakenName, read: (value: unknown) => T | undefined): T | undefined {
    const found = this.#get(name)
    if (found === ABSENT) return undefined
    const value = read(found)
    if (value !== undefined) this.#taken |= TAKEN_BITS.get(name)!
    return value
  }

  /** The fields not taken, in the order they first appear; undefined when there are none. */
  rest (): Record<string, unknown> | undefined {
    let rest: Record<string, unknown> | undefined
    const put = (name: string, value: unknown): void => {
      if ((this.#taken & (TAKEN_BITS.get(name) ?? 0)) !== 0) return
      rest ??= {}
      // An own property even for __proto__, which plain assignment would take for the prototype.
      if (name === '__proto__') Object.defineProperty(rest, name, { value, enumerable: true, writable: true, configurable: true })
      else rest[name] = value
    }
    for (const name in this.#labels) put(name, this.#labels[name])
    const metadata = this.#metadata
    if (isPairs(metadata)) {
      for (const { name, value } of metadata) put(name, value)
    } else {
      for (const name in metadata) put(name, metadata[name])
    }
    for (const name in this.#line) put(name, this.#line[name])
    return rest
  }

  #get (name: string): unknown {
    if (this.#line !== undefined && Object.hasOwn(this.#line, name)) return this.#line[name]
    const metadata = this.#metadata
    if (isPairs(metadata)) {
      for (let i = metadata.length - 1; i >= 0; i--) if (metadata[i]!.name === name) return metadata[i]!.value
    } else if (Object.hasOwn(metadata, name)) {
      return metadata[name]
    }
    return Object.hasOwn(this.#labels, name) ? this.#labels[name] : ABSENT
  }
}

function isPairs (metadata: Metadata): metadata is readonly PushLabelPair[] {
  return Array.isArray(metadata)
}

function textOf (value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined
}

/** A JSON line's message: text as it is, another value as JSON. */
function messageOf (value: unknown): string | undefined {
  if (value === null || value === undefined) return undefined
  return typeof value === 'string' ? value : JSON.stringify(value)
}

function levelOf (value: unknown): ReturnType<typeof levelFromName> {
  return typeof value === 'string' || typeof value === 'number' ? levelFromName(value) : undefined
}

/** A duration as a number of milliseconds: a finite number, or its decimal text (labels and metadata are text). */
function durationOf (value: unknown): number | undefined {
  const number = typeof value === 'number' ? value : typeof value === 'string' && /^\d+(\.\d+)?$/.test(value) ? Number(value) : undefined
  return number !== undefined && Number.isFinite(number) && number >= 0 ? number : undefined
}

/** A JSON line's time: milliseconds since the epoch (pino's `time`), or RFC 3339 text. */
function timeOf (value: unknown): Date | undefined {
  if (typeof value === 'number' && Number.isFinite(value) && value > 0) return validDate(new Date(value))
  if (typeof value === 'string' && RFC3339.test(value)) return validDate(new Date(value))
  return undefined
}

function validDate (date: Date): Date | undefined {
  const year = date.getUTCFullYear()
  return Number.isNaN(date.getTime()) || year < 1 || year > 9999 ? undefined : date
}

/** The fields of a line that is one JSON object; undefined for any other line (text, JSON of another kind, too long to be an entry). */
function objectOf (line: string): Record<string, unknown> | undefined {
  if (line.length > ENTRY_MAX_BYTES || !line.trimStart().startsWith('{') || !line.trimEnd().endsWith('}')) return undefined
  try {
    const value: unknown = secureJson.parse(line, undefined, POISON_CHECKS)
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? value as Record<string, unknown> : undefined
  } catch {
    return undefined
  }
}
