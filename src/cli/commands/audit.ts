// keys audit [--client NAME] [--event TYPE] [--limit N]: the audit trail of
// every client, newest first, including failures with keys nobody owns.
import type { Kysely } from 'kysely'
import type { Database } from '../../db/schema.ts'
import { presentAuditEvent } from '../../audit/present.ts'
import { AUDIT_EVENTS, listAuditEvents, type AuditEventType } from '../../audit/store.ts'
import { findClientByName } from '../../keys/store.ts'
import { UsageError, type CommandResult } from '../output.ts'

export interface AuditOptions {
  clientName?: string
  event?: string
  limit?: string
}

export async function audit (db: Kysely<Database>, options: AuditOptions): Promise<CommandResult> {
  const limit = options.limit === undefined ? 100 : Number(options.limit)
  if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) throw new UsageError(`--limit "${options.limit ?? ''}" must be a whole number from 1 to 10000.`)
  if (options.event !== undefined && !(AUDIT_EVENTS as readonly string[]).includes(options.event)) {
    throw new UsageError(`Unknown event "${options.event}": use ${AUDIT_EVENTS.join(', ')}.`)
  }
  let clientId: string | undefined
  if (options.clientName !== undefined) {
    const client = await findClientByName(db, options.clientName)
    if (client === undefined) throw new UsageError(`No client named "${options.clientName}".`)
    clientId = client.id
  }
  const rows = await listAuditEvents(db, { clientId, event: options.event as AuditEventType | undefined, limit })
  const names = new Map((await db.selectFrom('clients').select(['id', 'name']).execute()).map((client) => [client.id, client.name]))
  const events = rows.map((row) => ({ ...presentAuditEvent(row), client_name: row.client_id === null ? null : names.get(row.client_id) ?? null }))
  const text = events.length === 0
    ? 'No audit events.'
    : events.map((event) => [
      event.occurred_at,
      event.event.padEnd(18),
      event.client_name ?? '-',
      event.key_id ?? (event.key_prefix === null ? '-' : `${event.key_prefix}…`),
      event.reason ?? '',
      `by ${event.actor}${event.address === null ? '' : ` from ${event.address}`}`,
      event.details === null ? '' : JSON.stringify(event.details)
    ].filter((part) => part !== '').join('  ')).join('\n')
  return { json: { events }, text }
}
