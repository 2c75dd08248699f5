// Baseline for the benchmark, run as a process of its own: the same entries,
// stored as the service stores them (checkEntry's values, fresh UUIDv7 ids),
// written with COPY over one connection, `rows` per COPY, into a table shaped
// like logs. Each COPY commits on its own and the table is never emptied, so
// it grows as logs does. Settings come as JSON in BENCH_COPY (CopySettings);
// prints one JSON line (a CopyResult) on stdout.
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import pg from 'pg'
import { from as copyFrom } from 'pg-copy-streams'
import { v7 as uuidv7 } from 'uuid'
import { checkEntry, type NormalizedEntry } from '../../src/logs/validate.ts'
import { entries } from './entries.ts'

export interface CopySettings {
  url: string
  table: string
  clientId: string
  keyId: string
  rows: number
  warmupSeconds: number
  seconds: number
}

export interface CopyResult {
  rows: number
  seconds: number
  /** Milliseconds per COPY. */
  p50: number
  p99: number
}

const COLUMNS = ['client_id', 'key_id', 'id', 'event_id', 'environment', 'executed_at', 'status', 'level', 'message',
  'workflow_id', 'workflow_name', 'run_id', 'step', 'duration_ms', 'trace_id', 'attributes', 'size_bytes']

/** A value in COPY's text format. */
function field (value: string | number | null): string {
  if (value === null) return '\\N'
  return String(value).replace(/[\\\t\n\r]/g, (c) => ({ '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' })[c]!)
}

/** Everything of a row after its id, the same in every COPY. */
function rowTail (e: NormalizedEntry): string {
  return [e.event_id, e.environment, e.executed_at.toISOString(), e.status, e.level, e.message, e.workflow_id,
    e.workflow_name, e.run_id, e.step, e.duration_ms, e.trace_id, e.attributes, e.size_bytes].map(field).join('\t')
}

const settings = JSON.parse(process.env.BENCH_COPY ?? '') as CopySettings
const head = `${field(settings.clientId)}\t${field(settings.keyId)}\t`
const tails = entries(settings.rows).map((raw, index) => {
  const checked = checkEntry(raw, index)
  if (!checked.ok) throw new Error(`entry ${index} is not valid: ${JSON.stringify(checked.issues)}`)
  return rowTail(checked.entry)
})
const statement = `COPY ${settings.table} (${COLUMNS.join(', ')}) FROM STDIN`

const client = new pg.Client({ connectionString: settings.url })
await client.connect()

async function copyFor (seconds: number): Promise<CopyResult> {
  const took: number[] = []
  const started = performance.now()
  while (performance.now() - started < seconds * 1000) {
    const begun = performance.now()
    const text = tails.map((tail) => `${head}${uuidv7()}\t${tail}\n`).join('')
    await pipeline(Readable.from([text]), client.query(copyFrom(statement)))
    took.push(performance.now() - begun)
  }
  const elapsed = (performance.now() - started) / 1000
  took.sort((a, b) => a - b)
  const at = (share: number): number => took[Math.min(took.length - 1, Math.floor(share * took.length))] ?? 0
  return { rows: took.length * settings.rows, seconds: elapsed, p50: at(0.5), p99: at(0.99) }
}

try {
  await copyFor(settings.warmupSeconds)
  process.stdout.write(`${JSON.stringify(await copyFor(settings.seconds))}\n`)
} finally {
  await client.end()
}
