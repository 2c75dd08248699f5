// The tables as Kysely sees them. Nullable columns are `T | null`, never optional.
import type { ColumnType, Generated, Insertable, Selectable } from 'kysely'

type Timestamp = ColumnType<Date, Date | string, Date | string>

export interface ClientsTable {
  id: Generated<string>
  name: string
  created_at: Generated<Date>
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
}

export interface ServiceSecretsTable {
  name: string
  secret: Buffer
  created_at: Generated<Date>
}

export interface Database {
  clients: ClientsTable
  api_keys: ApiKeysTable
  logs: LogsTable
  service_secrets: ServiceSecretsTable
}

export type Client = Selectable<ClientsTable>
export type ApiKey = Selectable<ApiKeysTable>
export type LogRow = Selectable<LogsTable>
export type NewLogRow = Insertable<LogsTable>
