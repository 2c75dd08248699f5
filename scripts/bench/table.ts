// The benchmark's one table, as Markdown with padded columns: it reads the
// same in a terminal and pasted into the README.
export function markdownTable (header: string[], rows: string[][]): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)))
  const line = (cells: string[]): string => `| ${widths.map((width, column) => (cells[column] ?? '').padEnd(width)).join(' | ')} |`
  return [line(header), `|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`, ...rows.map(line)].join('\n')
}

/** 12345.6 → "12,346"; below 100, one decimal. */
export function count (value: number): string {
  return value.toLocaleString('en-US', { maximumFractionDigits: value < 100 ? 1 : 0 })
}

/** A latency in milliseconds. */
export function ms (value: number): string {
  return value < 10 ? value.toFixed(1) : value.toFixed(0)
}

export function ratio (value: number): string {
  return `${value.toFixed(2)}×`
}
