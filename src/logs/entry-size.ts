// What a log entry counts for against the ingest bytes limit and the storage
// quota: the UTF-8 bytes of its text columns as stored (status upper-cased,
// level defaulted) and of its attributes' JSON as stored. Its fixed-size
// columns (ids, times, duration) and the database's own overhead (row
// headers, indexes) are not counted: the entries limit bounds those.
import type { NormalizedEntry } from './validate.ts'

const TEXT_FIELDS = [
  'event_id', 'environment', 'status', 'level', 'message', 'workflow_id', 'workflow_name', 'run_id', 'step', 'trace_id', 'attributes'
] as const satisfies ReadonlyArray<keyof NormalizedEntry>

type TextFields = Pick<NormalizedEntry, typeof TEXT_FIELDS[number]>

export function entrySize (entry: TextFields): number {
  let bytes = 0
  for (const field of TEXT_FIELDS) {
    const value = entry[field]
    if (value !== null) bytes += Buffer.byteLength(value)
  }
  return bytes
}
