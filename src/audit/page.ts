// One page of a client's audit trail for the API, newest first, bounded in
// bytes as well as in events: the database sums the events' details (the
// only part that can be long, an allowlist change holds two lists of up to
// 100 ranges) in page order and sends only the page.
import { sql, type Kysely } from 'kysely'
import type { AuditEventRow, Database } from '../db/schema.ts'
import type { AuditEventType } from './store.ts'

export interface AuditPageQuery {
  event?: AuditEventType
  since?: Date
  /** Events older than this id (the next page). */
  beforeId?: number
  limit: number
  /** The page ends before the event that would take its details past this many bytes (one event at least). */
  maxBytes: number
}

const COLUMNS = ['id', 'occurred_at', 'client_id', 'event', 'key_id', 'key_prefix', 'actor', 'address', 'reason', 'details'] as const
const IN_PAGE_ORDER = sql.raw('over (order by id desc rows between unbounded preceding and current row)')

/** The client's events, newest first, and whether older ones follow the page. */
export async function auditPageOf (db: Kysely<Database>, clientId: string, query: AuditPageQuery): Promise<{ rows: AuditEventRow[], more: boolean }> {
  let select = db.selectFrom('audit_events').where('client_id', '=', clientId)
  if (query.event !== undefined) select = select.where('event', '=', query.event)
  if (query.since !== undefined) select = select.where('occurred_at', '>=', query.since)
  if (query.beforeId !== undefined) select = select.where('id', '<', query.beforeId)
  const candidates = select.select(COLUMNS).select([
    sql<number>`row_number() ${IN_PAGE_ORDER}`.as('position'),
    sql<number>`sum(coalesce(octet_length(details::text), 0)) ${IN_PAGE_ORDER}`.as('bytes_so_far'),
    sql<boolean>`lead(true, 1, false) ${IN_PAGE_ORDER}`.as('followed')
  ]).orderBy('id', 'desc').limit(query.limit)
  const page = await db.selectFrom(candidates.as('candidate')).select([...COLUMNS, 'followed'])
    .where((eb) => eb.or([eb('position', '=', 1), eb('bytes_so_far', '<=', query.maxBytes)]))
    .orderBy('id', 'desc')
    .execute()
  return { rows: page.map(({ followed: _followed, ...row }) => row), more: page.at(-1)?.followed === true }
}
