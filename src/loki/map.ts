// Loki push entries as log entries of this service: each entry (a JSON value
// or a protobuf entry) becomes one entry in the native ingest form, which the
// native checks then judge (checkEntries), so every rule of POST /api/v1/logs
// holds. The README's "Send logs from Loki clients" has the mapping as a table.
import secureJson from 'secure-json-parse'
import { levelFromName } from '../logs/level-names.ts'
import { ENTRY_MAX_BYTES } from '../logs/schemas.ts'
import { RefusedEntry } from '../logs/validate.ts'
import type { EntryDefaults } from '../logs/logger-shapes.ts'
import { FALLBACK_ENVIRONMENT, FALLBACK_STATUS } from '../logs/shipper-fallbacks.ts'
import { LabelSyntaxError, parseLabels } from './labels.ts'
import type { PushRequest } from './proto.ts'
import type { LokiPushJson } from './schemas.ts'

/** One entry of a push, with its stream's labels (or why they could not be read), and where it sits in the request. */
export interface PushedEntry {
  labels: Readonly<Record<string, string>> | LabelSyntaxError
  /** Nanoseconds since the epoch; 0 or less: none. */
  timestampNs: bigint
  line: string
  metadata: Readonly<Record<string, string>>
  /** `streams[i].values[j]` (JSON) or `streams[i].entries[j]` (protobuf) */
  path: string
}

const ENVIRONMENT_KEYS = ['environment', 'env']
const LEVEL_KEYS = ['level', 'severity', 'detected_level']
/** Loki's own order of preference where it finds a service name. */
const WORKFLOW_NAME_FALLBACK_KEYS = ['service_name', 'app', 'job']
/** Fields lifted into the columns of the same name when they are text. */
const LIFTED_TEXT = ['status', 'workflow_id', 'workflow_name', 'run_id', 'step', 'event_id', 'trace_id'] as const
/** A JSON line's message and time. */
const MESSAGE_KEYS = ['msg', 'message']
const TIME_KEYS = ['time', 'timestamp', 'ts']
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/
const NO_LABELS: Readonly<Record<string, string>> = Object.freeze({})
// As for any JSON body: __proto__ and constructor.prototype make a line plain text, not fields.
const POISON_CHECKS = { protoAction: 'error', constructorAction: 'error' } as const

/** The entries of a JSON push in order. */
export function jsonEntries (push: LokiPushJson): PushedEntry[] {
  const entries: PushedEntry[] = []
  push.streams.forEach((stream, i) => {
    const labels = stream.stream ?? NO_LABELS
    ;(stream.values ?? []).forEach(([timestamp, line, metadata], j) => {
      entries.push({ labels, timestampNs: BigInt(timestamp), line, metadata: metadata ?? NO_LABELS, path: `streams[${i}].values[${j}]` })
    })
  })
  return entries
}

/** The entries of a protobuf push in order; a stream whose labels do not parse gives its entries the reason. */
export function protobufEntries (push: PushRequest): PushedEntry[] {
  const entries: PushedEntry[] = []
  ;(push.streams ?? []).forEach((stream, i) => {
    const labels = labelsOf(stream.labels)
    ;(stream.entries ?? []).forEach((entry, j) => {
      const metadata: Record<string, string> = {}
      for (const { name, value } of entry.structuredMetadata ?? []) metadata[name] = value
      const seconds = BigInt(entry.timestamp?.seconds ?? 0)
      const timestampNs = seconds * 1_000_000_000n + BigInt(entry.timestamp?.nanos ?? 0)
      entries.push({ labels, timestampNs, line: entry.line ?? '', metadata, path: `streams[${i}].entries[${j}]` })
    })
  })
  return entries
}

/** The number of entries of a JSON push, counted without building anything. */
export function countJsonEntries (push: LokiPushJson): number {
  let count = 0
  for (const stream of push.streams) count += stream.values?.length ?? 0
  return count
}

/** The number of entries of a protobuf push, counted without building anything. */
export function countProtobufEntries (push: PushRequest): number {
  let count = 0
  for (const stream of push.streams ?? []) count += stream.entries?.length ?? 0
  return count
}

function labelsOf (text: string | undefined): Readonly<Record<string, string>> | LabelSyntaxError {
  if (text === undefined || text.trim() === '') return NO_LABELS
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
export function toEntry (pushed: PushedEntry, receivedAt: Date, defaults: EntryDefaults): Record<string, unknown> | RefusedEntry {
  if (pushed.labels instanceof LabelSyntaxError) {
    return new RefusedEntry('invalid_labels', `the stream's labels are not in Prometheus' syntax ({name="value", …}): ${pushed.labels.message}`)
  }
  const fields = new Map<string, unknown>()
  for (const name in pushed.labels) fields.set(name, pushed.labels[name])
  for (const name in pushed.metadata) fields.set(name, pushed.metadata[name])
  let message: string | undefined = pushed.line
  let lineTime: Date | undefined
  const lineFields = objectOf(pushed.line)
  if (lineFields !== undefined) {
    message = undefined
    for (const name in lineFields) fields.set(name, lineFields[name])
    const text = take(fields, MESSAGE_KEYS, (value) => value !== null && value !== undefined)
    if (text !== undefined) message = typeof text === 'string' ? text : JSON.stringify(text)
    lineTime = take(fields, TIME_KEYS, (value) => timeOf(value) !== undefined, timeOf)
  }

  const time = nanosToTime(pushed.timestampNs)
  if (time === null) return new RefusedEntry('out_of_range', 'the timestamp must be a time between the years 0001 and 9999')
  const entry: Record<string, unknown> = {
    environment: take(fields, ENVIRONMENT_KEYS, isText) ?? defaults.environment ?? FALLBACK_ENVIRONMENT,
    executed_at: (time ?? lineTime ?? receivedAt).toISOString(),
    status: defaults.status ?? FALLBACK_STATUS,
    level: take(fields, LEVEL_KEYS, (value) => levelOf(value) !== undefined, levelOf) ?? 'info'
  }
  if (message !== undefined) entry.message = message
  for (const name of LIFTED_TEXT) {
    const value = take(fields, [name], isText)
    if (value !== undefined) entry[name] = value
  }
  const duration = take(fields, ['duration_ms'], (value) => durationOf(value) !== undefined, durationOf)
  if (duration !== undefined) entry.duration_ms = duration
  // Set only when there is one: a delete would turn the entry into a slow dictionary.
  const workflowName = entry.workflow_name ?? take(fields, WORKFLOW_NAME_FALLBACK_KEYS, isText)
  if (workflowName !== undefined) entry.workflow_name = workflowName
  if (fields.size > 0) entry.attributes = Object.fromEntries(fields)
  return entry
}

/**
 * The first of `names` whose value `accepts`, taken out of the fields (as
 * `convert` makes it); a name whose value it does not accept stays, as an attribute.
 */
function take<T = unknown> (fields: Map<string, unknown>, names: readonly string[], accepts: (value: unknown) => boolean,
  convert: (value: unknown) => T | undefined = (value) => value as T): T | undefined {
  for (const name of names) {
    if (!fields.has(name)) continue
    const value = fields.get(name)
    if (!accepts(value)) continue
    fields.delete(name)
    return convert(value)
  }
  return undefined
}

function isText (value: unknown): value is string {
  return typeof value === 'string' && value !== ''
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

/** Nanoseconds since the epoch as a time, to the millisecond, as every time is stored; 0 or less: none; null: no storable time. */
function nanosToTime (nanos: bigint): Date | undefined | null {
  if (nanos <= 0n) return undefined
  return validDate(new Date(Number(nanos / 1_000_000n))) ?? null
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
