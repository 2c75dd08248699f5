// The load generator, run as a process of its own so that it never shares an
// event loop with what it measures: autocannon POSTs the same body (in the
// figure's encoding: entries.ts) over
// `connections` connections, first for a warm-up, then for the measured run,
// and prints one JSON line (a LoadResult) on stdout. Its settings come as JSON
// in BENCH_LOAD (a LoadSettings), which keeps the API key off the command line.
import autocannon from 'autocannon'
import { payload, type Encoding } from './entries.ts'

export interface LoadSettings {
  url: string
  /** Entries per request: 1 sends an object, more an array (natively). */
  entries: number
  encoding: Encoding
  connections: number
  warmupSeconds: number
  seconds: number
  headers: Record<string, string>
}

export interface RunSummary {
  /** Answered requests and the seconds they took. */
  requests: number
  seconds: number
  p50: number
  p99: number
  non2xx: number
  errors: number
  timeouts: number
  /** Count per HTTP status. */
  statuses: Record<string, number>
}

export interface LoadResult {
  warmup: RunSummary
  measured: RunSummary
}

function summary (result: autocannon.Result): RunSummary {
  const statuses: Record<string, number> = {}
  for (const [status, { count }] of Object.entries(result.statusCodeStats ?? {})) statuses[status] = count ?? 0
  return {
    requests: result.requests.total,
    seconds: result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    statuses
  }
}

const settings = JSON.parse(process.env.BENCH_LOAD ?? '') as LoadSettings
const { body, contentType } = payload(settings.encoding, settings.entries)
const run = async (seconds: number): Promise<RunSummary> => summary(await autocannon({
  url: settings.url,
  method: 'POST',
  body,
  headers: { 'content-type': contentType, ...settings.headers },
  connections: settings.connections,
  duration: seconds
}))

const warmup = await run(settings.warmupSeconds)
const measured = await run(settings.seconds)
process.stdout.write(`${JSON.stringify({ warmup, measured } satisfies LoadResult)}\n`)
