// The tables as Kysely sees them. Nullable columns are `T | null`, never optional.
import type { ColumnType, Generated, Insertable, Selectable } from 'kysely'

type Timestamp = ColumnType<Date, Date | string, Date | string>

export interface ClientsTable {
  id: Generated<string>
  name: string
  created_at: Generated<Date>
  /** Requests per rate limit window; null: the service's default. */
  rate_limit: number | null
  /** Log entries per minute; null: the service's default. */
  ingest_rate_limit: number | null
  /** Counted bytes of log entries per minute; null: the service's default. */
  ingest_bytes_limit: number | null
  /** Counted bytes of stored logs beyond which ingest is refused; null: the service's default; 0: none. */
  storage_quota_bytes: number | null
  /** Days a log is kept after its executed_at; null: the service's RETENTION_DAYS. */
  retention_days: number | null
  /** Signing secrets ever issued to the client: the next one takes the next generation. */
  signing_secrets_issued: Generated<number>
  /** Which signing secret is in force (it is derived, never stored); null: the client does not sign. */
  signing_generation: number | null
  /** The environment of a log that names none, on every ingest route; null: none. */
  default_environment: string | null
  /** The status (upper-cased) of a log that has none, on every ingest route; null: none. */
  default_status: string | null
}

export interface ApiKeysTable {
  client_id: string
  id: Generated<string>
  name: string | null
  prefix: string
  key_hash: Buffer
  scopes: string[]
  created_at: Generated<Date>
  expires_at: Timestamp | null
  revoked_at: Timestamp | null
  last_used_at: Timestamp | null
  last_used_address: string | null
  rotated_at: Timestamp | null
  replaced_by: string | null
  grace_ends_at: Timestamp | null
  allowed_cidrs: string[] | null
}

export interface LogsTable {
  client_id: string
  id: string
  event_id: string | null
  environment: string
  executed_at: Timestamp
  status: string
  level: string
  message: string | null
  workflow_id: string | null
  workflow_name: string | null
  run_id: string | null
  step: string | null
  duration_ms: number | null
  trace_id: string | null
  attributes: ColumnType<Record<string, unknown> | null, string | null, string | null>
  key_id: string
  received_at: Generated<Date>
  /** The log's counted size (src/logs/entry-size.ts); null for logs stored before it was kept. */
  size_bytes: number | null
}

/**
 * How many of a client's logs of one UTC hour carry each (status, level,
 * environment), kept by triggers on logs: read only by the stats.
 */
export interface LogHourCountsTable {
  client_id: string
  hour: Timestamp
  status: string
  level: string
  environment: string
  logs: ColumnType<number, number, number>
}

export interface ServiceSecretsTable {
  name: string
  secret: Buffer
  created_at: Generated<Date>
}

export interface AuditEventsTable {
  id: ColumnType<number, never, never>
  occurred_at: Generated<Date>
  client_id: string | null
  event: string
  key_id: string | null
  key_prefix: string | null
  actor: string
  address: string | null
  reason: string | null
  details: ColumnType<Record<string, unknown> | null, string | null, never>
}

type Counter = ColumnType<number, number | undefined, number>

export interface UsageDailyTable {
  client_id: string
  /** YYYY-MM-DD (UTC). */
  day: string
  requests: Counter
  rejected_requests: Counter
  rate_limited: Counter
  logs_accepted: Counter
  logs_duplicates: Counter
  logs_rejected: Counter
  auth_failures: Counter
}

/** A client's stored bytes, split over shards: only their sum means anything. */
export interface ClientStorageTable {
  client_id: string
  shard: number
  stored_bytes: Counter
}

export interface RequestNoncesTable {
  client_id: string
  nonce: string
  expires_at: Timestamp
}

/** An address group the failed-authentication throttle blocks, as the instance that blocked it reported it. */
export interface AuthBlocksTable {
  /** An IPv4 address, or an IPv6 /64. */
  address: string
  blocked_at: Timestamp
  blocked_until: Timestamp
}

/** A client's own webhook endpoint (src/webhooks/). */
export interface WebhookEndpointsTable {
  client_id: string
  id: Generated<string>
  url: string
  /** The event types it receives. */
  events: string[]
  description: string | null
  /** The signing secret: the service signs with it, so it is kept as given out (shown once, never returned again). */
  secret: string
  created_at: Generated<Date>
}

/** The outbox: one row per event, written in the transaction of what it tells. */
export interface WebhookEventsTable {
  client_id: string
  id: Generated<string>
  type: string
  payload: ColumnType<Record<string, unknown>, string, never>
  created_at: Generated<Date>
  /** When its deliveries were made (one per destination); null: not yet. */
  dispatched_at: Timestamp | null
}

/** One event to one destination, tried until delivered or given up. */
export interface WebhookDeliveriesTable {
  client_id: string
  id: ColumnType<number, never, never>
  event_id: string
  /** The client's endpoint; null: one of the provider's WEBHOOK_URLS. */
  endpoint_id: string | null
  url: string
  attempts: Generated<number>
  next_attempt_at: ColumnType<Date, Date | string | undefined, Date | string>
  delivered_at: Timestamp | null
  failed_at: Timestamp | null
  last_status: number | null
  last_error: string | null
  created_at: Generated<Date>
}

/** A notice sent once (a key's expiry) or once per window (a failure spike). */
export interface WebhookNoticesTable {
  client_id: string
  notice: string
  sent_at: Timestamp
}

export interface Database {
  clients: ClientsTable
  api_keys: ApiKeysTable
  logs: LogsTable
  log_hour_counts: LogHourCountsTable
  service_secrets: ServiceSecretsTable
  audit_events: AuditEventsTable
  usage_daily: UsageDailyTable
  request_nonces: RequestNoncesTable
  auth_blocks: AuthBlocksTable
  client_storage: ClientStorageTable
  webhook_endpoints: WebhookEndpointsTable
  webhook_events: WebhookEventsTable
  webhook_deliveries: WebhookDeliveriesTable
  webhook_notices: WebhookNoticesTable
}

export type Client = Selectable<ClientsTable>
export type ApiKey = Selectable<ApiKeysTable>
export type LogRow = Selectable<LogsTable>
export type NewLogRow = Insertable<LogsTable>
export type AuditEventRow = Selectable<AuditEventsTable>
export type UsageDailyRow = Selectable<UsageDailyTable>
