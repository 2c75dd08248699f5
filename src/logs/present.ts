// A stored log as the API shows it: times as RFC 3339 strings.
import type { StoredLogBody } from './schemas.ts'
import type { PublicLog, PublicLogText } from './tenant-logs.ts'

export function present (log: PublicLog): StoredLogBody {
  return {
    ...log,
    level: log.level as StoredLogBody['level'],
    executed_at: log.executed_at.toISOString(),
    received_at: log.received_at.toISOString()
  }
}

/** The same, from a log read as text (logsOf(...).listText): its times already as shown. */
export function presentText (log: PublicLogText): StoredLogBody {
  return {
    ...log,
    level: log.level as StoredLogBody['level'],
    attributes: log.attributes === null ? null : JSON.parse(log.attributes) as StoredLogBody['attributes']
  }
}
