// One page of a client's keys for the API, oldest first: a client may hold
// any number of keys (each rotation adds one, and revoked keys stay listed),
// so the listing is paged like every other. Each key weighs a few KiB at most
// (its allowlist holds up to 100 ranges), so a page of 1,000 stays within a
// few MiB.
import { sql, type Kysely } from 'kysely'
import type { Database } from '../db/schema.ts'
import { findKey, KEY_INFO_COLUMNS, type KeyInfo } from './store.ts'

/** The client's keys after the key `after` (the previous page's last), or undefined when `after` is none of the client's keys. */
export async function keysPageOf (db: Kysely<Database>, clientId: string, page: { after?: string, limit: number }):
Promise<{ keys: KeyInfo[], more: boolean } | undefined> {
  let query = db.selectFrom('api_keys').select(KEY_INFO_COLUMNS).where('client_id', '=', clientId)
  const after = page.after
  if (after !== undefined) {
    if (await findKey(db, { clientId }, after) === undefined) return undefined
    // The position is read in SQL: created_at has microseconds, a JavaScript Date only milliseconds.
    query = query.where(sql<boolean>`(created_at, id) > (select created_at, id from api_keys where client_id = ${clientId} and id = ${after})`)
  }
  const keys = await query.orderBy('created_at').orderBy('id').limit(page.limit + 1).execute()
  const more = keys.length > page.limit
  return { keys: more ? keys.slice(0, page.limit) : keys, more }
}
