// A stored log as the API shows it: times as RFC 3339 strings.
import type { StoredLogBody } from './schemas.ts'
import type { PublicLog } from './tenant-logs.ts'

export function present (log: PublicLog): StoredLogBody {
  return {
    ...log,
    level: log.level as StoredLogBody['level'],
    executed_at: log.executed_at.toISOString(),
    received_at: log.received_at.toISOString()
  }
}
