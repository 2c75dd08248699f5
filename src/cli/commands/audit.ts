// keys audit [--client NAME] [--event TYPE] [--limit N]: the audit trail of
// every client, newest first, including failures with keys nobody owns.
import type { Kysely } from 'kysely'
import type { Database } from '../../db/schema.ts'
import { presentAuditEvent } from '../../audit/present.ts'
import { AUDIT_EVENTS, listAuditEvents, type AuditEventType } from '../../audit/store.ts'
import { clientIdNamed, clientNames } from '../clients.ts'
import { wholeNumberOption } from '../options.ts'
import { shown, UsageError, type CommandResult } from '../output.ts'
import { EVERY_CLIENT } from '../../provider/every-client.ts'

export interface AuditOptions {
  clientName?: string
  event?: string
  limit?: string
}

export async function audit (db: Kysely<Database>, options: AuditOptions): Promise<CommandResult> {
  const limit = options.limit === undefined ? 100 : wholeNumberOption('--limit', options.limit, 1, 10_000)
  if (options.event !== undefined && !(AUDIT_EVENTS as readonly string[]).includes(options.event)) {
    throw new UsageError(`Unknown event "${options.event}": use ${AUDIT_EVENTS.join(', ')}.`)
  }
  const clientId = options.clientName === undefined ? undefined : await clientIdNamed(db, options.clientName)
  const rows = await listAuditEvents(db, clientId === undefined ? EVERY_CLIENT : { clientId }, { event: options.event as AuditEventType | undefined, limit })
  const names = await clientNames(db)
  const events = rows.map((row) => ({ ...presentAuditEvent(row), client_name: row.client_id === null ? null : names.get(row.client_id) ?? null }))
  const text = events.length === 0
    ? 'No audit events.'
    : events.map((event) => [
      event.occurred_at,
      shown(event.event).padEnd(18),
      shown(event.client_name ?? '-'),
      event.key_id ?? (event.key_prefix === null ? '-' : `${shown(event.key_prefix)}…`),
      shown(event.reason ?? ''),
      `by ${shown(event.actor)}${event.address === null ? '' : ` from ${shown(event.address)}`}`,
      event.details === null ? '' : JSON.stringify(event.details)
    ].filter((part) => part !== '').join('  ')).join('\n')
  return { json: { events }, text }
}
