// The query side of `npm run bench`: on a database of its own, two tenants of
// `perTenant` logs each (query-seed.ts), then, through the compiled service
// over HTTP with a logs:read key, one client asking one thing at a time
// (query-requests.ts), an export read to its end (query-export.ts) while the
// service's memory is watched, and a tail on a second instance of the service
// on the same database (query-tail.ts). Returns the Markdown table.
import { runNode, stop } from './children.ts'
import { latencyCases } from './query-cases.ts'
import type { ExportResult, ExportSettings } from './query-export.ts'
import type { RequestsSettings, SeriesResult } from './query-requests.ts'
import { seedQueryTenants } from './query-seed.ts'
import { queryTable } from './query-table.ts'
import type { TailResult, TailSettings } from './query-tail.ts'
import { percentile } from './percentiles.ts'
import { processCpuSeconds, processMemory, startService, type Service } from './service.ts'
import { count, ms } from './table.ts'

/** Untimed rounds of every kind of request first, for the client's and the service's compilers (query-requests.ts). */
const ROUNDS = 10
const WARMUP = 2
// A p95 of 20 requests is their second slowest, set by one pause; of 100, their sixth.
const REQUESTS = 100
/** Tail events timed, after WARMUP. */
const TAIL_EVENTS = 20
/** How often the service's resident memory is read while the export runs. */
const MEMORY_SAMPLE_MS = 20

/** Runs `work` while reading the process's VmRSS every MEMORY_SAMPLE_MS; its result, VmRSS before, and the most seen. */
async function watchingMemory<T> (pid: number, work: () => Promise<T>): Promise<{ result: T, rssBefore?: number, rssMax?: number }> {
  const rssBefore = await processMemory(pid, 'VmRSS')
  let rssMax = rssBefore
  let sampling = Promise.resolve()
  const timer = setInterval(() => {
    sampling = sampling.then(async () => {
      const rss = await processMemory(pid, 'VmRSS')
      if (rss !== undefined) rssMax = Math.max(rssMax ?? 0, rss)
    })
  }, MEMORY_SAMPLE_MS)
  try {
    return { result: await work(), rssBefore, rssMax }
  } finally {
    clearInterval(timer)
    await sampling
  }
}

export async function queryBench (databaseUrl: string, perTenant: number, progress: (text: string) => void): Promise<string> {
  progress('query figures: starting the service on a database of their own...')
  const first = await startService('the service', databaseUrl)
  let second: Service | undefined
  try {
    progress(`seeding two tenants of ${count(perTenant)} logs...`)
    const seeded = await seedQueryTenants(databaseUrl, perTenant, WARMUP + REQUESTS, progress)
    const { apiKey } = seeded.tenant

    const cases = latencyCases(seeded.end, seeded.ids, WARMUP + REQUESTS)
    progress(`${cases.length} kinds of request: ${ROUNDS} rounds of each, then ${WARMUP} + ${REQUESTS} each, one at a time...`)
    const settings: RequestsSettings = { base: first.base, apiKey, rounds: ROUNDS, warmup: WARMUP, count: REQUESTS, series: cases }
    const output = await runNode('the query client', 'scripts/bench/query-requests.ts', { ...process.env, BENCH_QUERY_REQUESTS: JSON.stringify(settings) })
    const results = JSON.parse(output) as SeriesResult[]
    const timed = cases.map((latency, i) => {
      const result = results[i]
      if (result === undefined) throw new Error(`the query client measured no "${latency.label}"`)
      progress(`  ${latency.label}: p50 ${ms(percentile(result.ms, 0.5))} ms, p95 ${ms(percentile(result.ms, 0.95))} ms (${result.answer})`)
      return { latency, result }
    })

    progress('export of all the tenant\'s logs...')
    const exportSettings: ExportSettings = { url: `${first.base}/api/v1/logs/export`, apiKey }
    const cpuBefore = await processCpuSeconds(first.pid)
    const watched = await watchingMemory(first.pid, async () => JSON.parse(await runNode('the export reader', 'scripts/bench/query-export.ts',
      { ...process.env, BENCH_QUERY_EXPORT: JSON.stringify(exportSettings) })) as ExportResult)
    const cpuAfter = await processCpuSeconds(first.pid)
    // What share of the export's time the service's process was on a CPU: near 1, its one thread is what bounds the rate.
    const cpuShare = cpuBefore === undefined || cpuAfter === undefined ? undefined : (cpuAfter - cpuBefore) / watched.result.seconds
    const exported = { ...watched.result, rssBefore: watched.rssBefore, rssMax: watched.rssMax, cpuShare }
    if (exported.logs !== perTenant) throw new Error(`the export held ${exported.logs} logs, not the tenant's ${perTenant}`)
    progress(`  ${count(exported.logs)} logs in ${exported.seconds.toFixed(1)} s, the service on a CPU ${Math.round((cpuShare ?? 0) * 100)}% of it`)

    progress('tail: a second instance on the same database...')
    second = await startService('the second service', databaseUrl)
    const tailSettings: TailSettings = { tailBase: first.base, postBase: second.base, apiKey, warmup: WARMUP, count: TAIL_EVENTS }
    const tail = JSON.parse(await runNode('the tail client', 'scripts/bench/query-tail.ts',
      { ...process.env, BENCH_QUERY_TAIL: JSON.stringify(tailSettings) })) as TailResult
    progress(`  p50 ${ms(percentile(tail.ms, 0.5))} ms, p95 ${ms(percentile(tail.ms, 0.95))} ms`)

    return queryTable({ perTenant, requests: REQUESTS, cases: timed, exported, tail })
  } finally {
    progress('stopping the services...')
    if (second !== undefined) await stop(second.child)
    await stop(first.child)
  }
}
