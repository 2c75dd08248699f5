// The "Log volume" histogram: the stats route's buckets as stacked bars
// (uPlot on a canvas named "Log volume"). Dragging across it selects that
// time range; the legend's values filter by themselves.
import { useEffect, useRef, useState } from 'preact/hooks'
import UPlot from 'uplot'
import { count, localTime } from '../format.ts'
import { stacksOf, type Stacks } from '../stacks.ts'
import type { StatsAnswer } from '../types.ts'
import type { GroupBy } from '../view-state.ts'

interface Props {
  stats: StatsAnswer
  group: GroupBy
  onSelect: (from: Date, to: Date) => void
  onPick: (value: string) => void
  onGroup: (group: GroupBy) => void
}

/** The theme's colours, read from the page's CSS, for what uPlot draws itself (axes, grid). */
function themeColors (element: HTMLElement): { text: string, grid: string } {
  const style = getComputedStyle(element)
  return { text: style.getPropertyValue('--muted').trim() || '#555', grid: style.getPropertyValue('--grid').trim() || '#ddd' }
}

function useDarkModeChanges (): number {
  const [changes, setChanges] = useState(0)
  useEffect(() => {
    const query = matchMedia('(prefers-color-scheme: dark)')
    const changed = (): void => { setChanges((value) => value + 1) }
    query.addEventListener('change', changed)
    return () => { query.removeEventListener('change', changed) }
  }, [])
  return changes
}

function chartOptions (stacks: Stacks, stats: StatsAnswer, width: number, colors: { text: string, grid: string },
  handlers: { onHover: (index: number | null) => void }): UPlot.Options {
  const from = Date.parse(stats.from) / 1000
  const to = Date.parse(stats.to) / 1000
  const bars = UPlot.paths.bars?.({ size: [0.9, 64], align: 1 })
  const axis = { stroke: colors.text, grid: { stroke: colors.grid, width: 1 }, ticks: { stroke: colors.grid, width: 1 } }
  return {
    width,
    height: 180,
    // Bars start at their bucket's start: the range is the one asked for, not the data's.
    scales: { x: { time: true, range: () => [from, to] }, y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.05)] } },
    axes: [{ ...axis }, { ...axis, size: 56 }],
    // The tallest running total first, each lower one drawn over it.
    series: [{}, ...[...stacks.stacks].reverse().map((stack) => ({
      label: stack.label, fill: stack.color, stroke: stack.color, width: 0, ...(bars === undefined ? {} : { paths: bars }), points: { show: false }
    }))],
    legend: { show: false },
    cursor: { drag: { x: true, y: false, setScale: false }, points: { show: false }, y: false },
    hooks: { setCursor: [(chart: UPlot) => { handlers.onHover(chart.cursor.idx ?? null) }] }
  }
}

export function VolumeChart ({ stats, group, onSelect, onPick, onGroup }: Props) {
  const holder = useRef<HTMLDivElement>(null)
  const [hovered, setHovered] = useState<number | null>(null)
  const themeChanges = useDarkModeChanges()
  const stacks = stacksOf(stats)
  const handlers = useRef({ onSelect, onHover: setHovered })
  handlers.current.onSelect = onSelect

  useEffect(() => {
    const element = holder.current
    if (element === null) return
    const options = chartOptions(stacks, stats, element.clientWidth || 600, themeColors(element), {
      onHover: (index) => { handlers.current.onHover(index) }
    })
    const data: UPlot.AlignedData = [stacks.times, ...[...stacks.stacks].reverse().map((stack) => stack.cumulative)]
    const plot = new UPlot(options, data, element)
    // The canvas is the chart: named for assistive technology, described by the summary below it.
    plot.ctx.canvas.setAttribute('role', 'img')
    plot.ctx.canvas.setAttribute('aria-label', 'Log volume')
    plot.ctx.canvas.setAttribute('aria-describedby', 'volume-summary')
    // A drag is taken when the button is released: uPlot also reports the selection while it grows.
    let dragging = false
    const down = (): void => { dragging = true }
    const up = (): void => {
      if (!dragging) return
      dragging = false
      // After uPlot's own handler of this mouseup has settled the selection.
      setTimeout(() => {
        const { left, width } = plot.select
        if (width < 3) return
        plot.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false)
        handlers.current.onSelect(new Date(plot.posToVal(left, 'x') * 1000), new Date(plot.posToVal(left + width, 'x') * 1000))
      }, 0)
    }
    plot.over.addEventListener('mousedown', down)
    document.addEventListener('mouseup', up)
    const resize = new ResizeObserver(() => { if (element.clientWidth > 0) plot.setSize({ width: element.clientWidth, height: 180 }) })
    resize.observe(element)
    return () => {
      resize.disconnect()
      plot.over.removeEventListener('mousedown', down)
      document.removeEventListener('mouseup', up)
      plot.destroy()
    }
    // The stats answer is a new object for every load; the chart is drawn anew for it, or for a change of theme.
  }, [stats, themeChanges])

  const bucket = hovered === null ? undefined : stats.buckets[hovered]
  return (
    <section class='panel volume' aria-labelledby='volume-title'>
      <div class='panel-head'>
        <h2 id='volume-title'>Log volume</h2>
        <span class='muted'>{count(stacks.total)} logs, per {stats.interval}</span>
        <div class='field inline'>
          <label for='volume-group'>Stack by</label>
          <select id='volume-group' value={group} onChange={(event) => { onGroup(event.currentTarget.value as GroupBy) }}>
            <option value='status'>status</option>
            <option value='level'>level</option>
          </select>
        </div>
      </div>
      <div ref={holder} class='chart' />
      <p id='volume-summary' class='muted small'>
        {bucket === undefined
          ? `${count(stacks.total)} logs from ${localTime(stats.from)} to ${localTime(stats.to)}. Drag across the chart to zoom into a time range.`
          : `${localTime(bucket.start)}: ${count(bucket.total)} logs${bucket.counts.length > 0 ? ' — ' : ''}${bucket.counts.map((item) => `${item.value ?? '(none)'} ${count(item.count)}`).join(', ')}`}
      </p>
      <ul class='legend' aria-label={`Values of ${group}`}>
        {stacks.stacks.map((stack) => (
          <li key={stack.label}>
            <span class='swatch' style={{ background: stack.color }} aria-hidden='true' />
            {stack.value === undefined
              ? <span>{stack.label} {count(stack.total)}</span>
              : <button type='button' class='link' title={`Show only ${group} ${stack.label}`} onClick={() => { onPick(stack.value ?? '') }}>{stack.label} {count(stack.total)}</button>}
          </li>
        ))}
      </ul>
    </section>
  )
}
