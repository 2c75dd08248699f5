// What a refused request must leave exactly as it was: the tenant data tables,
// row for row. Read as row counts and an MD5 of every row's JSON, so that one
// query answers after each case. A key's last use (last_used_at and
// last_used_address) is bookkeeping that changes with every request, refused
// or not, and is left out; so are audit_events and usage_daily, which record
// refused requests on purpose.
import { sql, type Kysely } from 'kysely'
import type { Database } from '../../src/db/schema.ts'

const BOOKKEEPING = ['last_used_at', 'last_used_address'] as const

export interface Snapshot {
  logs: string
  api_keys: string
  clients: string
}

function digestOf (table: 'logs' | 'api_keys' | 'clients') {
  // Removing a column the table lacks is a no-op, so the query outlives schema changes.
  const row = BOOKKEEPING.reduce((json, column) => sql`${json} - ${column}::text`, sql`to_jsonb(t)`)
  return sql<string>`(select count(*) || ':' || md5(coalesce(string_agg((${row})::text, '|' order by (${row})::text), ''))
    from ${sql.table(table)} as t)`
}

export async function snapshot (db: Kysely<Database>): Promise<Snapshot> {
  const result = await sql<Snapshot>`select ${digestOf('logs')} as logs, ${digestOf('api_keys')} as api_keys,
    ${digestOf('clients')} as clients`.execute(db)
  return result.rows[0]!
}

/** The tables whose content differs, by name. */
export function changedTables (before: Snapshot, after: Snapshot): string[] {
  return (Object.keys(before) as Array<keyof Snapshot>).filter((table) => before[table] !== after[table])
}
