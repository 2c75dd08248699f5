// How times, sizes and values are shown.
const pad = (value: number, width = 2): string => String(value).padStart(width, '0')

/** Local time to the millisecond, sortable: 2026-11-26 10:00:00.123. */
export function localTime (iso: string): string {
  const date = new Date(iso)
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ` +
    `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}`
}

/** A value for <input type="datetime-local">, in local time. */
export function toLocalInput (date: Date): string {
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`
}

export function fromLocalInput (value: string): Date | undefined {
  const time = new Date(value)
  return Number.isNaN(time.getTime()) ? undefined : time
}

const UNITS: Array<[string, number]> = [['day', 86_400_000], ['hour', 3_600_000], ['minute', 60_000]]

/** "in 3 days", "5 hours ago", "just now". */
export function relative (iso: string, now = Date.now()): string {
  const ms = new Date(iso).getTime() - now
  const unit = UNITS.find(([, size]) => Math.abs(ms) >= size)
  if (unit === undefined) return ms >= 0 ? 'in under a minute' : 'just now'
  const [name, size] = unit
  const amount = Math.round(Math.abs(ms) / size)
  const words = `${amount} ${name}${amount === 1 ? '' : 's'}`
  return ms >= 0 ? `in ${words}` : `${words} ago`
}

export function bytes (count: number): string {
  if (count < 1024) return `${count} B`
  const units = ['KB', 'MB', 'GB', 'TB']
  let value = count / 1024
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit] ?? 'TB'}`
}

export function count (value: number): string {
  return value.toLocaleString('en-US')
}
