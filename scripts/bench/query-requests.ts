// The query benchmark's client, run as a process of its own: one connection,
// one request at a time, each timed from its sending to the last byte of its
// answer. First `rounds` rounds of every series' requests, untimed: a fresh
// Node.js process (this one, and the service just started) runs its first
// few hundred requests slower while its compiler catches up, which would be
// measured instead of the service. Then for each series, `warmup` requests
// and `count` measured ones, going through its paths in turn. Settings come as
// JSON in BENCH_QUERY_REQUESTS (a RequestsSettings), which keeps the API key
// off the command line; prints one JSON line (a SeriesResult per series) on
// stdout.

export interface Series {
  label: string
  /** Paths with their query strings, requested in turn. */
  paths: string[]
  /** First follow next_cursor from paths[0] this many times, then request the page reached. */
  follow?: number
}

export interface RequestsSettings {
  base: string
  apiKey: string
  /** Untimed rounds of every series' requests before the first is timed. */
  rounds: number
  warmup: number
  count: number
  series: Series[]
}

export interface SeriesResult {
  /** Milliseconds of each measured request. */
  ms: number[]
  /** What the last answer held, in words ("100 logs"). */
  answer: string
}

const settings = JSON.parse(process.env.BENCH_QUERY_REQUESTS ?? '') as RequestsSettings
const headers = { 'x-api-key': settings.apiKey }

async function get (label: string, path: string): Promise<{ ms: number, body: Record<string, unknown> }> {
  const started = performance.now()
  const answer = await fetch(`${settings.base}${path}`, { headers })
  const text = await answer.text()
  const ms = performance.now() - started
  if (answer.status !== 200) throw new Error(`${label}: GET ${path} was answered ${answer.status}: ${text.slice(0, 500)}`)
  return { ms, body: JSON.parse(text) as Record<string, unknown> }
}

function described (body: Record<string, unknown>): string {
  if (Array.isArray(body.data)) return `${body.data.length} logs`
  if (Array.isArray(body.buckets)) return `${body.buckets.length} buckets`
  return typeof body.id === 'string' ? '1 log' : 'an answer'
}

/** The path of the page reached by following next_cursor `times` times from `path`. */
async function pageAfter (label: string, path: string, times: number): Promise<string> {
  let page = path
  for (let turn = 0; turn < times; turn++) {
    const cursor = (await get(label, page)).body.next_cursor
    if (typeof cursor !== 'string') throw new Error(`${label}: no next_cursor after ${turn + 1} pages`)
    page = `${path}${path.includes('?') ? '&' : '?'}cursor=${encodeURIComponent(cursor)}`
  }
  return page
}

const pathsOf: string[][] = []
for (const series of settings.series) {
  pathsOf.push(series.follow === undefined ? series.paths : [await pageAfter(series.label, series.paths[0] ?? '', series.follow)])
}
for (let round = 0; round < settings.rounds; round++) {
  for (const [i, series] of settings.series.entries()) {
    const paths = pathsOf[i] ?? []
    await get(series.label, paths[round % paths.length] ?? '')
  }
}

const results: SeriesResult[] = []
for (const [s, series] of settings.series.entries()) {
  const paths = pathsOf[s] ?? []
  const ms: number[] = []
  let answer = ''
  for (let i = 0; i < settings.warmup + settings.count; i++) {
    const result = await get(series.label, paths[i % paths.length] ?? '')
    if (i >= settings.warmup) ms.push(result.ms)
    answer = described(result.body)
  }
  results.push({ ms, answer })
}
process.stdout.write(`${JSON.stringify(results)}\n`)
