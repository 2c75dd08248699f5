// The addresses the failed-authentication throttle blocks, where the
// provider can see and clear them: each instance keeps its blocks in memory
// (its check costs nothing), reports them here every few seconds, and hears a
// clearing through a notification, which reaches every instance at once.
import { sql, type Kysely } from 'kysely'
import type { FastifyBaseLogger } from 'fastify'
import type { Database } from '../db/schema.ts'
import type { Db } from '../db/in-transaction.ts'
import { PeriodicFlush } from '../db/periodic-flush.ts'
import { appendAuditEvents, type Actor } from '../audit/store.ts'
import { THROTTLE_CHANNEL } from './invalidation.ts'

export interface Block {
  /** The address group: an IPv4 address, or an IPv6 /64. */
  address: string
  blockedAt: Date
  blockedUntil: Date
}

/** Blocks still in force, the one ending last first. */
export async function listBlocks (db: Db, now = new Date()): Promise<Block[]> {
  const rows = await db.selectFrom('auth_blocks').selectAll().where('blocked_until', '>', now)
    .orderBy('blocked_until', 'desc').orderBy('address').execute()
  return rows.map((row) => ({ address: row.address, blockedAt: new Date(row.blocked_at), blockedUntil: new Date(row.blocked_until) }))
}

/**
 * Lifts the block of one address group (or of every one, with `*`) on every
 * running instance, and forgets its failures there; audited. Returns the
 * blocks in force that were lifted (an instance may hold one not reported
 * yet; it is lifted all the same).
 */
export async function clearBlocks (db: Kysely<Database>, group: string, actor: Actor, now = new Date()): Promise<Block[]> {
  return await db.transaction().execute(async (trx) => {
    let query = trx.deleteFrom('auth_blocks').returningAll()
    if (group !== '*') query = query.where('address', '=', group)
    const rows = await query.execute()
    await appendAuditEvents(trx, [{ ...actor, event: 'throttle.cleared', clientId: null, details: { address: group === '*' ? 'all' : group } }])
    await sql`select pg_notify(${THROTTLE_CHANNEL}, ${group})`.execute(trx)
    return rows.filter((row) => new Date(row.blocked_until) > now)
      .map((row) => ({ address: row.address, blockedAt: new Date(row.blocked_at), blockedUntil: new Date(row.blocked_until) }))
  })
}

/** Gathers this instance's new blocks and writes them every few seconds (and at close). */
export class BlockReporter {
  readonly #db: Kysely<Database>
  readonly #log: FastifyBaseLogger
  readonly #flusher: PeriodicFlush
  #pending = new Map<string, { since: number, until: number }>()

  constructor (db: Kysely<Database>, log: FastifyBaseLogger, flushEveryMs: number) {
    this.#db = db
    this.#log = log
    this.#flusher = new PeriodicFlush(async () => { await this.#write() }, flushEveryMs)
  }

  report (group: string, since: number, until: number): void {
    // Bounded like the throttle itself: past this many in one interval, the oldest reports wait for the next block.
    if (this.#pending.size >= 10_000 && !this.#pending.has(group)) return
    this.#pending.set(group, { since, until })
  }

  async flush (): Promise<void> {
    await this.#flusher.run()
  }

  async close (): Promise<void> {
    await this.#flusher.close()
  }

  async #write (): Promise<void> {
    if (this.#pending.size === 0) return
    const batch = [...this.#pending]
    this.#pending = new Map()
    try {
      await this.#db.transaction().execute(async (trx) => {
        await trx.deleteFrom('auth_blocks').where('blocked_until', '<', new Date()).execute()
        await trx.insertInto('auth_blocks')
          .values(batch.map(([address, { since, until }]) => ({ address, blocked_at: new Date(since), blocked_until: new Date(until) })))
          // Another instance may have blocked the same group: the block that ends last wins.
          .onConflict((oc) => oc.column('address').doUpdateSet({
            blocked_at: sql`case when auth_blocks.blocked_until < excluded.blocked_at then excluded.blocked_at else auth_blocks.blocked_at end`,
            blocked_until: sql`greatest(auth_blocks.blocked_until, excluded.blocked_until)`
          }))
          .execute()
      })
    } catch (error) {
      for (const [group, block] of batch) if (!this.#pending.has(group)) this.#pending.set(group, block)
      this.#log.warn({ err: error, blocks: batch.length }, 'could not report throttled addresses; will retry')
    }
  }
}
