// The filters of a query route's query string as the data layer takes them.
import type { FilterQueryInput } from './schemas.ts'
import type { LogFilters } from './tenant-logs.ts'
import { timeFilter } from './time.ts'

export function logFilters (query: FilterQueryInput): LogFilters {
  return {
    from: timeFilter(query.from, 'from'),
    to: timeFilter(query.to, 'to'),
    status: query.status?.toUpperCase(),
    level: query.level,
    environment: query.environment,
    workflow_id: query.workflow_id,
    run_id: query.run_id,
    q: query.q
  }
}
