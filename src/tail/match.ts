// Whether a log passes a tail's filters. A tail hears of new logs by id and
// reads them once for all its client's tails, so each tail's filters are
// applied here, in the terms the listing applies them in SQL: times on
// executed_at, `from` inclusive and `to` exclusive, status already
// upper-cased, q a case-insensitive substring of message.
import type { LogFilters, PublicLog } from '../logs/tenant-logs.ts'

export function matches (log: PublicLog, filters: LogFilters, foldedQ: string | undefined): boolean {
  if (filters.from !== undefined && log.executed_at < filters.from) return false
  if (filters.to !== undefined && log.executed_at >= filters.to) return false
  if (filters.status !== undefined && log.status !== filters.status) return false
  if (filters.level !== undefined && log.level !== filters.level) return false
  if (filters.environment !== undefined && log.environment !== filters.environment) return false
  if (filters.workflow_id !== undefined && log.workflow_id !== filters.workflow_id) return false
  if (filters.run_id !== undefined && log.run_id !== filters.run_id) return false
  if (foldedQ !== undefined && (log.message === null || !fold(log.message).includes(foldedQ))) return false
  return true
}

/** Case folded as for q: lower case, beyond ASCII too. */
export function fold (text: string): string {
  return text.toLowerCase()
}
