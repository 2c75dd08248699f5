// What a log entry counts for against the ingest bytes limit and the storage
// quota: the UTF-8 bytes of its text columns as stored (status upper-cased,
// level defaulted) and of its attributes' JSON as stored. Its fixed-size
// columns (ids, times, duration) and the database's own overhead (row
// headers, indexes) are not counted: the entries limit bounds those.
import type { LogsTable } from '../db/schema.ts'

const TEXT_FIELDS = [
  'event_id', 'environment', 'status', 'level', 'message', 'workflow_id', 'workflow_name', 'run_id', 'step', 'trace_id', 'attributes'
] as const satisfies ReadonlyArray<keyof LogsTable>

/** The text columns of an entry as stored; attributes as their JSON. */
type TextFields = Record<typeof TEXT_FIELDS[number], string | null>

export function entrySize (entry: TextFields): number {
  let bytes = 0
  for (const field of TEXT_FIELDS) {
    const value = entry[field]
    if (value !== null) bytes += Buffer.byteLength(value)
  }
  return bytes
}
