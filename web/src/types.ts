// The API's answers, as the page reads them (the service's schemas are the reference).
// A log and a page of them: the service's own response types, imported for
// their types alone (the bundler erases the import), so the two cannot drift.
export type { StoredLogBody as LogEntry, LogPageBody as LogPage } from '../../src/logs/schemas.ts'

export interface StatsAnswer {
  interval: string
  from: string
  to: string
  group_by: string | null
  buckets: Array<{ start: string, counts: Array<{ value: string | null, count: number }>, other: number, total: number }>
}

export interface Whoami {
  client_id: string
  client_name: string
  key_id: string
  key_prefix: string
  scopes: string[]
  ends_at: string | null
  in_grace: boolean
}

export interface KeyView {
  id: string
  prefix: string
  name: string | null
  scopes: string[]
  status: 'active' | 'grace' | 'rotated' | 'expired' | 'revoked'
  created_at: string
  last_used_at: string | null
  last_used_address: string | null
  expires_at: string | null
  revoked_at: string | null
  grace_ends_at: string | null
  expiring_soon: boolean
  current: boolean
}

export interface KeyList {
  data: KeyView[]
  next_cursor: string | null
}

export interface CreatedKey {
  api_key: string
  key: KeyView
}

export interface UsageDay {
  day: string
  requests: number
  rejected_requests: number
  rate_limited: number
  logs_accepted: number
  logs_rejected: number
}

export interface UsageReport {
  from: string
  to: string
  days: UsageDay[]
  total: Omit<UsageDay, 'day'>
  storage: { stored_bytes: number, quota_bytes: number | null }
}
