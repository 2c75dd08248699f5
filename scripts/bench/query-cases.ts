// What the query benchmark asks the service, and the target each answer time
// must meet (its p95). Paths vary where real callers would (another workflow,
// another day, another log), so that no figure is one cached page read again.
import { ABSENT_WORD, COMMON_WORD, RARE_PHRASE, SPAN_DAYS, WORKFLOWS } from './query-seed-rows.ts'
import type { Series } from './query-requests.ts'

export interface LatencyCase extends Series {
  /** The p95 must be at most this many ms, or this many times the p95 of the case labelled `of`. */
  target: { ms: number } | { times: number, of: string }
}

/** The page the cursor case times, reached by following next_cursor one time fewer. */
const CURSOR_PAGE = 50
const DAY_MS = 86_400_000
const NEWEST_PAGE = 'newest page (GET /api/v1/logs)'

export const TARGETS = { exportLogsPerSecond: 50_000, exportRssGrowthBytes: 50e6, tailP95Ms: 1000 }

function path (route: string, parameters: Record<string, string> = {}): string {
  const query = Object.entries(parameters).map(([name, value]) => `${name}=${encodeURIComponent(value)}`).join('&')
  return query === '' ? route : `${route}?${query}`
}

/** The cases, for logs that end at `end`; `ids` are some of the tenant's, `requests` how many paths each case needs at most. */
export function latencyCases (end: Date, ids: string[], requests: number): LatencyCase[] {
  const turns = Array.from({ length: requests }, (_, i) => i)
  const midnight = Date.UTC(end.getUTCFullYear(), end.getUTCMonth(), end.getUTCDate())
  // Whole UTC days within the logs' span, yesterday first.
  const days = turns.map((i) => midnight - (1 + i % (SPAN_DAYS - 1)) * DAY_MS)
  const logs = '/api/v1/logs'
  return [
    { label: `q=${RARE_PHRASE}: a rare phrase`, paths: [path(logs, { q: RARE_PHRASE })], target: { ms: 100 } },
    { label: `q=${ABSENT_WORD}: an absent word`, paths: [path(logs, { q: ABSENT_WORD })], target: { ms: 100 } },
    { label: `q=${COMMON_WORD}: a common word`, paths: [path(logs, { q: COMMON_WORD })], target: { ms: 100 } },
    { label: NEWEST_PAGE, paths: [logs], target: { ms: 10 } },
    {
      label: 'a workflow (workflow_id=wf-…)',
      paths: turns.map((i) => path(logs, { workflow_id: `wf-${(i * 37) % WORKFLOWS}` })),
      target: { ms: 10 }
    },
    {
      label: 'failures in one day (status=FAILURE, from, to)',
      paths: days.map((from) => path(logs, { status: 'FAILURE', from: new Date(from).toISOString(), to: new Date(from + DAY_MS).toISOString() })),
      target: { ms: 10 }
    },
    { label: 'by id (GET /api/v1/logs/:id)', paths: ids.map((id) => `${logs}/${id}`), target: { ms: 10 } },
    { label: `page ${CURSOR_PAGE} by cursor`, paths: [logs], follow: CURSOR_PAGE - 1, target: { times: 1.5, of: NEWEST_PAGE } },
    {
      label: `stats, ${SPAN_DAYS} days by hour, grouped by status`,
      paths: [path(`${logs}/stats`, {
        from: new Date(end.getTime() - SPAN_DAYS * DAY_MS).toISOString(), to: end.toISOString(), interval: 'hour', group_by: 'status'
      })],
      target: { ms: 250 }
    }
  ]
}
