// The two forms of an export: what each is called, and how a stored log, as
// text (PublicLogText), becomes a line of it.
import { csvRecord } from './csv.ts'
import { PUBLIC_COLUMNS, type PublicLogText } from './tenant-logs.ts'

export const EXPORT_FORMATS = ['ndjson', 'csv'] as const

export type ExportFormat = typeof EXPORT_FORMATS[number]

export interface ExportEncoding {
  contentType: string
  extension: string
  /** What comes before the first log. */
  head: string
  line: (log: PublicLogText) => string
}

function json (text: string | null): string {
  return text === null ? 'null' : JSON.stringify(text)
}

/** The attributes as JSON.stringify writes them, as GET /api/v1/logs does: not PostgreSQL's text of them, which spaces its separators. */
function attributesJson (text: string | null): string | null {
  return text === null ? null : JSON.stringify(JSON.parse(text))
}

export const ENCODINGS: Record<ExportFormat, ExportEncoding> = {
  // One log per line, the document GET /api/v1/logs gives for it (JSON.stringify of present(log)), written
  // field by field in the order of PUBLIC_COLUMNS: no object is made for a log only to be serialised.
  ndjson: {
    contentType: 'application/x-ndjson',
    extension: 'ndjson',
    head: '',
    line: (log) => `{"id":"${log.id}","event_id":${json(log.event_id)},"environment":${JSON.stringify(log.environment)},` +
      `"executed_at":"${log.executed_at}","status":${JSON.stringify(log.status)},"level":${JSON.stringify(log.level)},` +
      `"message":${json(log.message)},"workflow_id":${json(log.workflow_id)},"workflow_name":${json(log.workflow_name)},` +
      `"run_id":${json(log.run_id)},"step":${json(log.step)},"duration_ms":${log.duration_ms === null ? 'null' : JSON.stringify(log.duration_ms)},` +
      `"trace_id":${json(log.trace_id)},"attributes":${attributesJson(log.attributes) ?? 'null'},"received_at":"${log.received_at}"}\n`
  },
  // The public columns, times as in JSON, attributes as JSON text.
  csv: {
    contentType: 'text/csv; charset=utf-8',
    extension: 'csv',
    head: csvRecord(PUBLIC_COLUMNS),
    line: (log) => csvRecord(PUBLIC_COLUMNS.map((column) => column === 'attributes' ? attributesJson(log.attributes) : log[column]))
  }
}

/** `logs-20261120T100000Z.ndjson`: the time of the export, in UTC, without the characters some file systems refuse. */
export function exportFilename (at: Date, encoding: ExportEncoding): string {
  const stamp = at.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '')
  return `logs-${stamp}.${encoding.extension}`
}
