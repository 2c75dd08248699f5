// The API's answers, as the page reads them (the service's schemas are the reference).
export interface LogEntry {
  id: string
  event_id: string | null
  environment: string
  executed_at: string
  status: string
  level: string
  message: string | null
  workflow_id: string | null
  workflow_name: string | null
  run_id: string | null
  step: string | null
  duration_ms: number | null
  trace_id: string | null
  attributes: Record<string, unknown> | null
  received_at: string
}

export interface LogPage {
  data: LogEntry[]
  next_cursor: string | null
}

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
