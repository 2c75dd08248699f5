// The query benchmark's table: each case's p50 and p95 against its target,
// the export's rate and the memory it took, the tail's delay.
import type { LatencyCase } from './query-cases.ts'
import { TARGETS } from './query-cases.ts'
import type { ExportResult } from './query-export.ts'
import type { SeriesResult } from './query-requests.ts'
import type { TailResult } from './query-tail.ts'
import { percentile } from './percentiles.ts'
import { count, markdownTable, ms } from './table.ts'

export interface QueryFigures {
  perTenant: number
  requests: number
  cases: Array<{ latency: LatencyCase, result: SeriesResult }>
  /** With the service's VmRSS before and at most during it, and the share of its time the service spent on a CPU. */
  exported: ExportResult & { rssBefore: number | undefined, rssMax: number | undefined, cpuShare: number | undefined }
  tail: TailResult
}

const met = (ok: boolean): string => ok ? 'met' : 'NOT MET'
const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(0)} MB`

export function queryTable ({ perTenant, requests, cases, exported, tail }: QueryFigures): string {
  const p95Of = (label: string): number => {
    const found = cases.find(({ latency }) => latency.label === label)
    if (found === undefined) throw new Error(`no case "${label}"`)
    return percentile(found.result.ms, 0.95)
  }
  const rows = cases.map(({ latency, result }) => {
    const p95 = percentile(result.ms, 0.95)
    const { target } = latency
    const limit = 'ms' in target ? target.ms : target.times * p95Of(target.of)
    const wanted = 'ms' in target ? `≤ ${count(target.ms)} ms` : `≤ ${target.times}× ${target.of.replace(/ \(.*$/, '')} (${ms(limit)} ms)`
    return [latency.label, result.answer, ms(percentile(result.ms, 0.5)), ms(p95), `${wanted}: ${met(p95 <= limit)}`]
  })

  const perSecond = exported.logs / exported.seconds
  rows.push([`export of all ${count(perTenant)} logs (NDJSON, read fully)`,
    `${count(exported.logs)} logs in ${exported.seconds.toFixed(1)} s: ${count(perSecond)} logs/s` +
      (exported.cpuShare === undefined ? '' : `, service on a CPU ${Math.round(exported.cpuShare * 100)}% of it`), '', '',
    `≥ ${count(TARGETS.exportLogsPerSecond)} logs/s: ${met(perSecond >= TARGETS.exportLogsPerSecond)}`])
  const { rssBefore, rssMax } = exported
  const growth = rssBefore === undefined || rssMax === undefined ? undefined : Math.max(0, rssMax - rssBefore)
  rows.push(['  same, growth of the service\'s RSS',
    growth === undefined ? 'not available' : `${mb(growth)} (VmRSS ${mb(rssBefore ?? 0)}, at most ${mb(rssMax ?? 0)})`, '', '',
    `≤ ${mb(TARGETS.exportRssGrowthBytes)}: ${growth === undefined ? 'not measured' : met(growth <= TARGETS.exportRssGrowthBytes)}`])

  const tailP95 = percentile(tail.ms, 0.95)
  rows.push(['tail: POST answered on one instance → event on another', `${tail.ms.length} events, ${tail.early} before the answer`,
    ms(percentile(tail.ms, 0.5)), ms(tailP95), `≤ ${count(TARGETS.tailP95Ms)} ms: ${met(tailP95 <= TARGETS.tailP95Ms)}`])

  return markdownTable([`request (1 client, sequential; ${requests} timed after warm-up)`, 'answer', 'p50 ms', 'p95 ms', 'target (p95)'], rows)
}
