// The client's usage per day, as a small uPlot chart: logs accepted as bars,
// requests as a line.
import { useEffect, useRef } from 'preact/hooks'
import UPlot from 'uplot'
import type { UsageReport } from '../types.ts'

const DAY_SECONDS = 86_400

/** Every day of the report, those without usage as zero. */
function everyDay (report: UsageReport): { times: number[], logs: number[], requests: number[] } {
  const byDay = new Map(report.days.map((day) => [day.day, day]))
  const times: number[] = []
  const logs: number[] = []
  const requests: number[] = []
  for (let time = Date.parse(`${report.from}T00:00:00Z`) / 1000; time <= Date.parse(`${report.to}T00:00:00Z`) / 1000; time += DAY_SECONDS) {
    const day = byDay.get(new Date(time * 1000).toISOString().slice(0, 10))
    times.push(time)
    logs.push(day?.logs_accepted ?? 0)
    requests.push(day?.requests ?? 0)
  }
  return { times, logs, requests }
}

export function UsageChart ({ report }: { report: UsageReport }) {
  const holder = useRef<HTMLDivElement>(null)
  useEffect(() => {
    const element = holder.current
    if (element === null) return
    const { times, logs, requests } = everyDay(report)
    const style = getComputedStyle(element)
    const text = style.getPropertyValue('--muted').trim() || '#555'
    const grid = style.getPropertyValue('--grid').trim() || '#ddd'
    const axis = { stroke: text, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } }
    const bars = UPlot.paths.bars?.({ size: [0.7, 40], align: 0 })
    const plot = new UPlot({
      width: element.clientWidth || 600,
      height: 140,
      scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] } },
      axes: [{ ...axis }, { ...axis, size: 56 }],
      series: [
        { value: (_u, value) => value === null ? '' : new Date(value * 1000).toISOString().slice(0, 10) },
        { label: 'logs accepted', fill: '#2563eb', stroke: '#2563eb', width: 0, ...(bars === undefined ? {} : { paths: bars }), points: { show: false } },
        { label: 'requests', stroke: '#d97706', width: 2, points: { show: false } }
      ],
      // The legend is the page's own, below the chart.
      legend: { show: false },
      cursor: { drag: { x: false, y: false }, y: false }
    }, [times, logs, requests], element)
    plot.ctx.canvas.setAttribute('role', 'img')
    plot.ctx.canvas.setAttribute('aria-label', 'Usage per day')
    const resize = new ResizeObserver(() => { if (element.clientWidth > 0) plot.setSize({ width: element.clientWidth, height: 140 }) })
    resize.observe(element)
    return () => {
      resize.disconnect()
      plot.destroy()
    }
  }, [report])
  return <div ref={holder} class='chart usage-chart' />
}
