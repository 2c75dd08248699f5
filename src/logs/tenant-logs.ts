// The only way to read the logs table: every statement here starts from the
// authenticated client, so no query can be written without its client_id.
// Logs are written by group-insert.ts, each row with its sender's client_id.
import { sql, type Kysely } from 'kysely'
import type { Database, LogRow } from '../db/schema.ts'
import type { AuthenticatedClient } from '../auth/resolver.ts'
import type { CursorPosition } from './cursor.ts'

/** A stored log as the API returns it (no client or key columns, nor its counted size). */
export type PublicLog = Omit<LogRow, 'client_id' | 'key_id' | 'size_bytes'>

export const PUBLIC_COLUMNS = [
  'id', 'event_id', 'environment', 'executed_at', 'status', 'level', 'message', 'workflow_id',
  'workflow_name', 'run_id', 'step', 'duration_ms', 'trace_id', 'attributes', 'received_at'
] as const

/**
 * A stored log as text ready to be written out: its times as the API shows
 * them (RFC 3339, UTC, to the millisecond: what Date's toISOString gives for
 * every time PostgreSQL can hold from a Date, years 1 to 9999), its
 * attributes as PostgreSQL's text of the jsonb. Made by the database, so
 * that an export parses no time into a Date nor its attributes into objects
 * only to write them out again.
 */
export type PublicLogText = Omit<PublicLog, 'executed_at' | 'received_at' | 'attributes'> &
  { executed_at: string, received_at: string, attributes: string | null }

const TEXT_AS_STORED = ['id', 'event_id', 'environment', 'status', 'level', 'message', 'workflow_id',
  'workflow_name', 'run_id', 'step', 'duration_ms', 'trace_id'] as const
// to_char's MS truncates, as Date (and so toISOString) does a time PostgreSQL holds to the microsecond.
const RFC3339_UTC = 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'
const TEXT_AS_SHOWN = [
  sql<string>`to_char(executed_at at time zone 'UTC', ${RFC3339_UTC})`.as('executed_at'),
  sql<string>`to_char(received_at at time zone 'UTC', ${RFC3339_UTC})`.as('received_at'),
  sql<string | null>`attributes::text`.as('attributes')
]

export interface StoredEntry {
  id: string
  /** True when the event_id was stored before (by an earlier request or earlier in this batch). */
  duplicate: boolean
  /** The stored log, when asked for with `withLogs`. */
  log?: PublicLog
}

/** What every query route of logs may filter on; status already upper-cased. */
export interface LogFilters {
  from?: Date
  to?: Date
  status?: string
  level?: string
  environment?: string
  workflow_id?: string
  run_id?: string
  /** A case-insensitive substring of message, answered from the trigram index. */
  q?: string
}

export interface ListFilters extends LogFilters {
  order: 'asc' | 'desc'
  limit: number
  /** The page ends before the row that would take its text fields and attributes past this many bytes (one row at least). */
  maxBytes: number
  after?: CursorPosition
}

// What a row weighs in a page: the bytes of its text fields as stored, and of
// its attributes as JSON text; the message and the attributes above all,
// which may take 64 KiB each. Field names and the fixed-size fields (id,
// times, level, duration) add a few hundred bytes a row, not counted.
const TEXT_COLUMNS = ['event_id', 'environment', 'status', 'message', 'workflow_id', 'workflow_name', 'run_id', 'step', 'trace_id'] as const
const ROW_BYTES = sql.join([
  ...TEXT_COLUMNS.map((column) => sql`coalesce(octet_length(${sql.ref(column)}), 0)`),
  sql`coalesce(octet_length(attributes::text), 0)`
], sql` + `)

/**
 * The client's logs that pass the filters: the one starting point of every
 * read of logs, here and in the other query modules (stats, export, tail).
 */
export function filteredLogs (db: Kysely<Database>, client: AuthenticatedClient, filters: LogFilters) {
  let query = db.selectFrom('logs').where('client_id', '=', client.id)
  if (filters.from !== undefined) query = query.where('executed_at', '>=', filters.from)
  if (filters.to !== undefined) query = query.where('executed_at', '<', filters.to)
  if (filters.status !== undefined) query = query.where('status', '=', filters.status)
  if (filters.level !== undefined) query = query.where('level', '=', filters.level)
  if (filters.environment !== undefined) query = query.where('environment', '=', filters.environment)
  if (filters.workflow_id !== undefined) query = query.where('workflow_id', '=', filters.workflow_id)
  if (filters.run_id !== undefined) query = query.where('run_id', '=', filters.run_id)
  if (filters.q !== undefined) query = query.where('message', 'ilike', `%${escapeLike(filters.q)}%`)
  return query
}

export function logsOf (db: Kysely<Database>, client: AuthenticatedClient) {
  return {
    async get (id: string): Promise<PublicLog | undefined> {
      return await filteredLogs(db, client, {}).select(PUBLIC_COLUMNS).where('id', '=', id).executeTakeFirst()
    },

    /** The logs of these ids, in id order (the order they were made in); ids of other clients find nothing. */
    async byIds (ids: readonly string[]): Promise<PublicLog[]> {
      if (ids.length === 0) return []
      // One array parameter, however many ids: PostgreSQL takes at most 65,535 parameters.
      return await filteredLogs(db, client, {}).select(PUBLIC_COLUMNS).where('id', '=', sql<string>`any(${ids}::uuid[])`).orderBy('id').execute()
    },

    /**
     * The logs made after the one of `afterId` that pass the filters, oldest
     * first, at most `limit`: ids are UUIDv7, so id order is the order in
     * which the instances made them.
     */
    async since (afterId: string, filters: LogFilters, limit: number): Promise<PublicLog[]> {
      return await filteredLogs(db, client, filters).select(PUBLIC_COLUMNS)
        .where('id', '>', afterId).orderBy('id').limit(limit).execute()
    },

    /**
     * A page in (executed_at, id) order, whether more rows follow it, and the
     * position after its last row. The page ends at `limit` rows, or before
     * the row that would take it past `maxBytes`: the database sums the rows'
     * sizes in page order and sends only the page, never the rows after the
     * cut. Each log comes as text the way it is written out (PublicLogText).
     */
    async listText (filters: ListFilters): Promise<{ rows: PublicLogText[], more: boolean, last?: CursorPosition }> {
      const rows = await pageOf(db, client, filters).select([...TEXT_AS_STORED, ...TEXT_AS_SHOWN, 'followed']).execute()
      const last = rows.at(-1)
      // The page's last time, a Date only once: to the millisecond, as every time the service stores.
      return { rows, more: last?.followed === true, last: last === undefined ? undefined : { executedAt: new Date(last.executed_at), id: last.id } }
    }
  }
}

/** A page's rows (see listText), in page order, for the caller to choose the columns. */
function pageOf (db: Kysely<Database>, client: AuthenticatedClient, filters: ListFilters) {
  let query = filteredLogs(db, client, filters)
  const after = filters.after
  if (after !== undefined) {
    query = query.where((eb) => eb(
      eb.refTuple('executed_at', 'id'),
      filters.order === 'desc' ? '<' : '>',
      eb.tuple(after.executedAt, after.id)
    ))
  }
  const order = filters.order
  // The page order, as a window: `order` is one of two words, checked by the route's schema and the type.
  const inPageOrder = sql.raw(`over (order by executed_at ${order}, id ${order} rows between unbounded preceding and current row)`)
  const candidates = query.select(PUBLIC_COLUMNS).select([
    sql<number>`row_number() ${inPageOrder}`.as('position'),
    sql<number>`sum(${ROW_BYTES}) ${inPageOrder}`.as('bytes_so_far'),
    // Whether a row follows this one, even past the limit: the page's last row says whether there is a next page.
    sql<boolean>`lead(true, 1, false) ${inPageOrder}`.as('followed')
  ]).orderBy('executed_at', order).orderBy('id', order).limit(filters.limit)
  return db.selectFrom(candidates.as('candidate'))
    .where((eb) => eb.or([eb('position', '=', 1), eb('bytes_so_far', '<=', filters.maxBytes)]))
    // Named by their table: in ORDER BY a bare name is an output column first, and listText's executed_at is text.
    .orderBy('candidate.executed_at', order).orderBy('candidate.id', order)
}

function escapeLike (text: string): string {
  return text.replace(/[\\%_]/g, (char) => `\\${char}`)
}
