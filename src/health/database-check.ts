// Whether the database answers, for GET /ready, within a bound: a database
// that accepts connections and then answers nothing (a partition, a stalled
// host) would otherwise hold every probe, and each probe a pool connection,
// until it answers again. At most one check is under way at a time: probes
// that arrive meanwhile wait on it, so a silent database holds one connection
// here however often a load balancer asks.
import { sql, type Kysely } from 'kysely'
import type { Database } from '../db/schema.ts'

/** A check answering false when the database fails or has not answered within `timeoutMs`. */
export function databaseCheck (db: Kysely<Database>, timeoutMs: number): () => Promise<boolean> {
  let underWay: Promise<boolean> | undefined
  return async () => {
    underWay ??= sql`select 1`.execute(db).then(() => true, () => false).finally(() => { underWay = undefined })
    let timer: NodeJS.Timeout | undefined
    const late = new Promise<boolean>((resolve) => { timer = setTimeout(() => { resolve(false) }, timeoutMs) })
    try {
      return await Promise.race([underWay, late])
    } finally {
      clearTimeout(timer)
    }
  }
}
