// An audit event as the API and the CLI show it.
import type { AuditEventRow } from '../db/schema.ts'

export function presentAuditEvent (row: AuditEventRow) {
  return {
    id: String(row.id),
    occurred_at: row.occurred_at.toISOString(),
    client_id: row.client_id,
    event: row.event,
    key_id: row.key_id,
    key_prefix: row.key_prefix,
    actor: row.actor,
    address: row.address,
    reason: row.reason,
    details: row.details
  }
}
