// The entries, newest first, in a scrolling table that loads the next page
// (over the listing's cursor) as its end comes into view. A row opens its
// entry. Only the rows in view (and some either side) are in the document,
// between two spacers as tall as the rows left out: a browser lays out every
// row of a table again when rows are added, which for a thousand rows takes
// long enough to be seen.
import { Component } from 'preact'
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks'
import { localTime } from '../format.ts'
import type { LogEntry } from '../types.ts'

interface RowProps {
  log: LogEntry
  href: string
  selected: boolean
  fresh: boolean
  onOpen: (id: string) => void
  /** Its place among all the rows (0: the newest). */
  index: number
}

/** The height of a row (one line, whatever it holds), until the first one drawn is measured. */
const ROW_HEIGHT = 31
/** Rows drawn beyond the view on either side, so that scrolling shows no gap. */
const OVERSCAN = 30

class Row extends Component<RowProps> {
  override shouldComponentUpdate (next: RowProps): boolean {
    const now = this.props
    return next.log !== now.log || next.selected !== now.selected || next.href !== now.href || next.fresh !== now.fresh || next.index !== now.index
  }

  override render ({ log, href, selected, fresh, onOpen, index }: RowProps) {
    return (
      <tr class={`entry${selected ? ' selected' : ''}${fresh ? ' fresh' : ''}`} aria-selected={selected} aria-rowindex={index + 2} onClick={(event) => {
        // The link opens it by itself (and a modified click opens a tab).
        if ((event.target as HTMLElement).closest('a') === null) onOpen(log.id)
      }}>
        <td class='time'><a href={href} title={log.executed_at}>{localTime(log.executed_at)}</a></td>
        <td><span class={`level level-${log.level}`}>{log.level}</span></td>
        <td><span class={`status status-${log.status.toLowerCase()}`}>{log.status}</span></td>
        <td class='workflow' title={log.workflow_name ?? undefined}>{log.workflow_id ?? ''}</td>
        <td class='message'>{log.message ?? ''}</td>
      </tr>
    )
  }
}

interface Props {
  logs: LogEntry[]
  fresh: ReadonlySet<string>
  selected: string
  hrefFor: (id: string) => string
  onOpen: (id: string) => void
  /** More pages to load. */
  more: boolean
  loading: boolean
  onMore: () => void
  onScrollTop: (atTop: boolean) => void
  scrollToTop: number
}

export function LogTable ({ logs, fresh, selected, hrefFor, onOpen, more, loading, onMore, onScrollTop, scrollToTop }: Props) {
  const scroller = useRef<HTMLDivElement>(null)
  const sentinel = useRef<HTMLDivElement>(null)
  const loadMore = useRef(onMore)
  loadMore.current = onMore

  useEffect(() => {
    const root = scroller.current
    const end = sentinel.current
    if (root === null || end === null) return
    const observer = new IntersectionObserver((entries) => {
      if (entries.some((entry) => entry.isIntersecting)) loadMore.current()
    }, { root, rootMargin: '400px' })
    observer.observe(end)
    return () => { observer.disconnect() }
  }, [])

  // A page that does not fill the view leaves the sentinel in sight, which observers do not report again.
  useEffect(() => {
    const root = scroller.current
    if (root !== null && more && !loading && root.scrollHeight <= root.clientHeight + 400) onMore()
  }, [logs.length, more, loading])

  useEffect(() => { if (scrollToTop > 0) scroller.current?.scrollTo({ top: 0 }) }, [scrollToTop])

  // The window of rows drawn, from the scroll position and the view's height.
  const [view, setView] = useState({ top: 0, height: 800 })
  const [rowHeight, setRowHeight] = useState(ROW_HEIGHT)
  const body = useRef<HTMLTableSectionElement>(null)
  useLayoutEffect(() => {
    const drawn = body.current?.querySelector('tr.entry')?.getBoundingClientRect().height
    if (drawn !== undefined && drawn > 0 && Math.abs(drawn - rowHeight) > 0.5) setRowHeight(drawn)
  })
  useEffect(() => {
    const root = scroller.current
    if (root === null) return
    const resize = new ResizeObserver(() => { setView((current) => ({ ...current, height: root.clientHeight })) })
    resize.observe(root)
    return () => { resize.disconnect() }
  }, [])
  const first = Math.max(0, Math.floor(view.top / rowHeight) - OVERSCAN)
  const last = Math.min(logs.length, Math.ceil((view.top + view.height) / rowHeight) + OVERSCAN)

  return (
    <div class='table-scroll' ref={scroller} tabIndex={0} aria-label='Log entries' role='region'
      onScroll={(event) => {
        const top = event.currentTarget.scrollTop
        setView((current) => ({ ...current, top }))
        onScrollTop(top < 8)
      }}>
      <table class='logs' aria-rowcount={logs.length + 1}>
        <thead>
          <tr aria-rowindex={1}><th scope='col'>Time</th><th scope='col'>Level</th><th scope='col'>Status</th><th scope='col'>Workflow</th><th scope='col'>Message</th></tr>
        </thead>
        <tbody ref={body}>
          {first > 0 && <tr class='spacer' aria-hidden='true' style={{ height: `${first * rowHeight}px` }} />}
          {logs.slice(first, last).map((log, at) => (
            <Row key={log.id} index={first + at} log={log} href={hrefFor(log.id)} selected={log.id === selected} fresh={fresh.has(log.id)} onOpen={onOpen} />
          ))}
          {last < logs.length && <tr class='spacer' aria-hidden='true' style={{ height: `${(logs.length - last) * rowHeight}px` }} />}
        </tbody>
      </table>
      <div ref={sentinel} class='table-end muted' aria-live='polite'>
        {loading ? 'Loading…' : more ? '' : logs.length === 0 ? 'No logs match these filters in this time range.' : `All ${logs.length.toLocaleString('en-US')} logs shown.`}
      </div>
    </div>
  )
}
