// The audit trail: key events and authentication failures, appended and read,
// never changed (the table itself refuses updates and deletes).
import { sql } from 'kysely'
import type { AuditEventRow } from '../db/schema.ts'
import { inTransaction, type Db } from '../db/in-transaction.ts'
import { scopedClientId, type ClientScope } from '../db/scope.ts'

export const AUDIT_EVENTS = [
  'key.created', 'key.rotated', 'key.revoked', 'key.updated', 'key.expired_in_use', 'auth.failed', 'client.updated',
  'throttle.cleared', 'webhook.created', 'webhook.deleted'
] as const
export type AuditEventType = typeof AUDIT_EVENTS[number]

/** Who did it: `cli:<os user>`, `key:<key id>` for a self-service call, `service` for what the service observed. */
export interface Actor {
  actor: string
  address?: string | null
}

export interface AuditEvent extends Actor {
  event: AuditEventType
  clientId: string | null
  keyId?: string | null
  keyPrefix?: string | null
  reason?: string | null
  details?: Record<string, unknown> | null
  occurredAt?: Date
}

function row (event: AuditEvent) {
  return {
    event: event.event,
    client_id: event.clientId,
    key_id: event.keyId ?? null,
    key_prefix: event.keyPrefix ?? null,
    actor: event.actor,
    address: event.address ?? null,
    reason: event.reason ?? null,
    details: event.details == null ? null : JSON.stringify(event.details),
    ...(event.occurredAt === undefined ? {} : { occurred_at: event.occurredAt })
  }
}

// A statement takes at most 65,535 parameters, and a row takes nine.
const ROWS_PER_INSERT = 1000

/** Appends the events, all or none: a caller that keeps them to try again never writes some twice. */
export async function appendAuditEvents (db: Db, events: AuditEvent[]): Promise<void> {
  if (events.length === 0) return
  if (events.length <= ROWS_PER_INSERT) {
    await db.insertInto('audit_events').values(events.map(row)).execute()
    return
  }
  await inTransaction(db, async (trx) => {
    for (let start = 0; start < events.length; start += ROWS_PER_INSERT) {
      await trx.insertInto('audit_events').values(events.slice(start, start + ROWS_PER_INSERT).map(row)).execute()
    }
  })
}

export interface AuditQuery {
  event?: AuditEventType
  since?: Date
  /** Events older than this id (the next page). */
  beforeId?: number
  limit: number
}

/** The scope's events, newest first. */
export async function listAuditEvents (db: Db, scope: ClientScope, query: AuditQuery): Promise<AuditEventRow[]> {
  let select = db.selectFrom('audit_events').selectAll().orderBy('id', 'desc').limit(query.limit)
  const clientId = scopedClientId(scope)
  if (clientId !== undefined) select = select.where('client_id', '=', clientId)
  if (query.event !== undefined) select = select.where('event', '=', query.event)
  if (query.since !== undefined) select = select.where('occurred_at', '>=', query.since)
  if (query.beforeId !== undefined) select = select.where('id', '<', query.beforeId)
  return await select.execute()
}

export interface UnattributedFailures {
  /** YYYY-MM-DD (UTC). */
  day: string
  /** Failed authentications with no known key: made-up, malformed or missing keys, throttled addresses. */
  failures: number
  /** Of those, answered 429 because their address was cooling off. */
  throttled: number
}

/** Per UTC day, the failed authentications no client can be charged with (a batched row counts its `count`). */
export async function unattributedFailures (db: Db, from: string, to: string): Promise<UnattributedFailures[]> {
  const count = sql<number>`coalesce((details->>'count')::bigint, 1)`
  const day = sql<string>`to_char(occurred_at at time zone 'UTC', 'YYYY-MM-DD')`
  const rows = await db.selectFrom('audit_events')
    .select([
      day.as('day'),
      sql<string>`sum(${count})`.as('failures'),
      sql<string>`coalesce(sum(${count}) filter (where reason = 'auth_throttled'), 0)`.as('throttled')
    ])
    .where('event', '=', 'auth.failed').where('client_id', 'is', null)
    .where('occurred_at', '>=', sql<Date>`(${from}::date)::timestamp at time zone 'UTC'`)
    .where('occurred_at', '<', sql<Date>`(${to}::date + 1)::timestamp at time zone 'UTC'`)
    .groupBy(day).orderBy(day)
    .execute()
  return rows.map((row) => ({ day: row.day, failures: Number(row.failures), throttled: Number(row.throttled) }))
}
