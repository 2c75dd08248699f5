// The two forms of an export: what each is called, and how a stored log
// becomes a line of it.
import { csvRecord } from './csv.ts'
import { present } from './present.ts'
import { PUBLIC_COLUMNS, type PublicLog } from './tenant-logs.ts'

export const EXPORT_FORMATS = ['ndjson', 'csv'] as const

export type ExportFormat = typeof EXPORT_FORMATS[number]

export interface ExportEncoding {
  contentType: string
  extension: string
  /** What comes before the first log. */
  head: string
  line: (log: PublicLog) => string
}

export const ENCODINGS: Record<ExportFormat, ExportEncoding> = {
  // One log per line, the document GET /api/v1/logs gives for it.
  ndjson: {
    contentType: 'application/x-ndjson',
    extension: 'ndjson',
    head: '',
    line: (log) => `${JSON.stringify(present(log))}\n`
  },
  // The public columns, times as in JSON, attributes as JSON text.
  csv: {
    contentType: 'text/csv; charset=utf-8',
    extension: 'csv',
    head: csvRecord(PUBLIC_COLUMNS),
    line: (log) => {
      const shown = present(log)
      return csvRecord(PUBLIC_COLUMNS.map((column) => {
        const value = shown[column]
        return column === 'attributes' ? (value === null ? null : JSON.stringify(value)) : value as string | number | null
      }))
    }
  }
}

/** `logs-20261120T100000Z.ndjson`: the time of the export, in UTC, without the characters some file systems refuse. */
export function exportFilename (at: Date, encoding: ExportEncoding): string {
  const stamp = at.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '')
  return `logs-${stamp}.${encoding.extension}`
}
