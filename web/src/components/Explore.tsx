// Explore: filters, the "Log volume" histogram, the entries (a page at a
// time, over the listing's cursor), the entry opened, and Live, which puts
// new entries at the top of the table as the tail brings them, holding them
// back while the user has scrolled away.
import { useCallback, useEffect, useRef, useState } from 'preact/hooks'
import { ApiError, describeError, type Api, type Query } from '../api.ts'
import { LiveTail, type TailState } from '../tail.ts'
import type { LogEntry, LogPage, StatsAnswer } from '../types.ts'
import type { UpdateState } from '../use-view-state.ts'
import { filterQuery, formatState, intervalFor, linkTo, resolveRange, type ViewState } from '../view-state.ts'
import { Filters } from './Filters.tsx'
import { LogDetail } from './LogDetail.tsx'
import { LogTable } from './LogTable.tsx'
import { Notice } from './Notice.tsx'
import { VolumeChart } from './VolumeChart.tsx'

const PAGE_SIZE = 200
/** While Live is on, the histogram is counted again this often. */
const LIVE_STATS_MS = 10_000

interface Props {
  api: Api
  state: ViewState
  update: UpdateState
}

function tailWords (state: TailState | undefined): string {
  if (state === undefined) return ''
  switch (state.kind) {
    case 'connecting': return 'Connecting…'
    case 'live': return 'Live: new logs appear at the top.'
    case 'waiting': return `Reconnecting in ${state.seconds} s (${state.reason}).`
    case 'stopped': return `Live stopped: ${state.reason}`
  }
}

/** The logs not among those known, by id. */
function unseen (logs: LogEntry[], known: LogEntry[]): LogEntry[] {
  const ids = new Set(known.map((log) => log.id))
  return logs.filter((log) => !ids.has(log.id))
}

export function Explore ({ api, state, update }: Props) {
  const filters = filterQuery(state)
  const filtersKey = JSON.stringify(filters)
  const [reloads, setReloads] = useState(0)
  const listKey = JSON.stringify([filtersKey, state.range, state.from, state.to, reloads])

  const [logs, setLogs] = useState<LogEntry[]>([])
  const [cursor, setCursor] = useState<string | null>(null)
  const [loading, setLoading] = useState(true)
  const [error, setError] = useState<string>()
  // Live entries held back while the user has scrolled away, and those shown since the list was loaded.
  const [pending, setPending] = useState<LogEntry[]>([])
  const [fresh, setFresh] = useState<ReadonlySet<string>>(new Set())
  const listQuery = useRef<Query>({})
  const loadingMore = useRef(false)
  const generation = useRef(0)

  // The first page, whenever the filters or the range change.
  useEffect(() => {
    const current = ++generation.current
    const range = resolveRange(state)
    // A preset runs up to now and on: the newest logs are the first page's.
    const query: Query = { ...filters, from: range.from.toISOString(), to: state.range === 'custom' ? range.to.toISOString() : undefined, limit: PAGE_SIZE }
    listQuery.current = query
    const abort = new AbortController()
    setLoading(true)
    setError(undefined)
    setPending([])
    setFresh(new Set())
    api.get<LogPage>('/api/v1/logs', query, abort.signal).then((page) => {
      if (current !== generation.current) return
      setLogs(page.data)
      setCursor(page.next_cursor)
      setLoading(false)
    }, (failure: unknown) => {
      if (abort.signal.aborted || current !== generation.current) return
      setLogs([])
      setCursor(null)
      setError(describeError(failure))
      setLoading(false)
    })
    return () => { abort.abort() }
  }, [api, listKey])

  const loadMore = useCallback(() => {
    if (cursor === null || loading || loadingMore.current) return
    const current = generation.current
    loadingMore.current = true
    setLoading(true)
    api.get<LogPage>('/api/v1/logs', { ...listQuery.current, cursor }).then((page) => {
      if (current !== generation.current) return
      setLogs((known) => [...known, ...unseen(page.data, known)])
      setCursor(page.next_cursor)
    }, (failure: unknown) => {
      if (current === generation.current) setError(describeError(failure))
    }).finally(() => {
      loadingMore.current = false
      if (current === generation.current) setLoading(false)
    })
  }, [api, cursor, loading])

  // The histogram: counted again for a change of filters, range or stacking, and every few seconds while Live is on.
  const [stats, setStats] = useState<StatsAnswer>()
  const [statsError, setStatsError] = useState<string>()
  const [statsTicks, setStatsTicks] = useState(0)
  useEffect(() => {
    const range = resolveRange(state)
    const abort = new AbortController()
    api.get<StatsAnswer>('/api/v1/logs/stats', {
      ...filters, from: range.from.toISOString(), to: range.to.toISOString(), interval: intervalFor(range), group_by: state.group
    }, abort.signal).then((answer) => {
      setStats(answer)
      setStatsError(undefined)
    }, (failure: unknown) => {
      if (!abort.signal.aborted) setStatsError(describeError(failure))
    })
    return () => { abort.abort() }
  }, [api, listKey, state.group, statsTicks])

  // Live.
  const [tailState, setTailState] = useState<TailState>()
  const [atTop, setAtTop] = useState(true)
  const [scrollRequests, setScrollRequests] = useState(0)
  const atTopNow = useRef(atTop)
  atTopNow.current = atTop
  const show = useCallback((arrived: LogEntry[]) => {
    setLogs((known) => [...unseen(arrived, known), ...known])
    setFresh((ids) => new Set([...ids, ...arrived.map((log) => log.id)]))
  }, [])
  useEffect(() => {
    if (!state.live) {
      setTailState(undefined)
      return
    }
    const tail = new LiveTail(api, filters, {
      onLog: (log) => {
        if (atTopNow.current) show([log])
        else setPending((held) => [log, ...held])
      },
      onState: setTailState
    })
    tail.start()
    const ticker = setInterval(() => { setStatsTicks((ticks) => ticks + 1) }, LIVE_STATS_MS)
    return () => {
      tail.stop()
      clearInterval(ticker)
    }
  }, [api, state.live, filtersKey])
  // Back at the top: what arrived meanwhile is shown.
  useEffect(() => {
    if (atTop && pending.length > 0) {
      show(pending)
      setPending([])
    }
  }, [atTop, pending])

  // The entry opened: from the table when it is there, else asked for (a shared link).
  const [opened, setOpened] = useState<LogEntry>()
  const [openError, setOpenError] = useState<string>()
  const inTable = logs.find((log) => log.id === state.log)
  useEffect(() => {
    setOpened(undefined)
    setOpenError(undefined)
    if (state.log === '' || inTable !== undefined) return
    const abort = new AbortController()
    api.get<LogEntry>(`/api/v1/logs/${encodeURIComponent(state.log)}`, {}, abort.signal).then(setOpened, (failure: unknown) => {
      if (abort.signal.aborted) return
      setOpenError(failure instanceof ApiError && failure.status === 404
        ? 'No log with this id among this client\'s logs: it may have been deleted after the retention period, or the link is another client\'s.'
        : describeError(failure))
    })
    return () => { abort.abort() }
  }, [api, state.log, inTable === undefined])

  const hrefFor = useCallback((id: string) => formatState({ ...state, log: id }) || '#', [state])
  const statuses = stats?.group_by === 'status' ? stats.buckets.flatMap((bucket) => bucket.counts.map((item) => item.value ?? '')) : []

  return (
    <div class='explore'>
      <Filters state={state} update={update} statuses={[...new Set(statuses)].filter((value) => value !== '')} />
      <div class='live-row'>
        <label class='switch'>
          <input
            type='checkbox'
            role='switch'
            checked={state.live}
            onChange={(event) => {
              const live = event.currentTarget.checked
              // Live follows what comes now: a range that ended in the past would hide it.
              update(live && state.range === 'custom' ? { live, range: '15m', from: '', to: '' } : { live })
            }}
          />
          <span>Live</span>
        </label>
        <span class='muted' role='status'>{tailWords(tailState)}</span>
        <button type='button' class='secondary' onClick={() => { setReloads((count) => count + 1) }}>Refresh</button>
      </div>
      {statsError !== undefined && <Notice kind='error'>Log volume: {statsError}</Notice>}
      {stats !== undefined && (
        <VolumeChart
          stats={stats}
          group={state.group}
          onSelect={(from, to) => { update({ range: 'custom', from: from.toISOString(), to: to.toISOString(), live: false, log: '' }) }}
          onPick={(value) => { update({ [state.group]: value, log: '' }) }}
          onGroup={(group) => { update({ group }, { replace: true }) }}
        />
      )}
      {error !== undefined && <Notice kind='error'>{error}</Notice>}
      <div class={`results${state.log === '' ? '' : ' with-detail'}`}>
        <div class='results-list'>
          {pending.length > 0 && (
            <button type='button' class='new-logs' onClick={() => { setScrollRequests((count) => count + 1) }}>
              {pending.length} new {pending.length === 1 ? 'log' : 'logs'}: scroll to the top to show {pending.length === 1 ? 'it' : 'them'}
            </button>
          )}
          <LogTable
            logs={logs}
            fresh={fresh}
            selected={state.log}
            hrefFor={hrefFor}
            onOpen={(id) => { update({ log: id }) }}
            more={cursor !== null}
            loading={loading}
            onMore={loadMore}
            onScrollTop={(top) => { if (top !== atTopNow.current) setAtTop(top) }}
            scrollToTop={scrollRequests}
          />
        </div>
        {state.log !== '' && (
          <LogDetail log={inTable ?? opened} error={openError} link={linkTo(state)} onClose={() => { update({ log: '' }) }} />
        )}
      </div>
    </div>
  )
}
