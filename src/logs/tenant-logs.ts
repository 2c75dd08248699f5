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
     * A page in (executed_at, id) order, and whether more rows follow it. The
     * page ends at `limit` rows, or before the row that would take it past
     * `maxBytes`: the database sums the rows' sizes in page order and sends
     * only the page, never the rows after the cut.
     */
    async list (filters: ListFilters): Promise<{ rows: PublicLog[], more: boolean }> {
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
      const page = await db.selectFrom(candidates.as('candidate')).select([...PUBLIC_COLUMNS, 'followed'])
        .where((eb) => eb.or([eb('position', '=', 1), eb('bytes_so_far', '<=', filters.maxBytes)]))
        .orderBy('executed_at', order).orderBy('id', order)
        .execute()
      const rows = page.map(({ followed: _followed, ...log }) => log)
      return { rows, more: page.at(-1)?.followed === true }
    }
  }
}

function escapeLike (text: string): string {
  return text.replace(/[\\%_]/g, (char) => `\\${char}`)
}
