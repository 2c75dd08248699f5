// CSV as RFC 4180 writes it: fields separated by commas, records ended by
// CRLF, a field quoted when it holds a comma, a quote, CR or LF, its quotes
// doubled. Cells are written as they are: no character is added to disarm a
// spreadsheet formula, which would change the data (README: import, not open).

/** A cell: null is an empty field, an empty string a quoted one, so that the two can be told apart. */
export type CsvCell = string | number | null

function field (cell: CsvCell): string {
  if (cell === null) return ''
  const text = String(cell)
  if (text === '') return '""'
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text
}

export function csvRecord (cells: readonly CsvCell[]): string {
  return `${cells.map(field).join(',')}\r\n`
}
