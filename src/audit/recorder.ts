// Authentication failures for the audit trail, without a database write per
// failed request: a stream of bad keys must not turn into a stream of inserts.
// Identical failures (same event, client, key, address, reason and details,
// which name the method and route, so that a row describes every request it
// counts) within a flush interval become one row with a count; past a cap of
// distinct rows per interval the rest are summed into one overflow row.
import type { FastifyBaseLogger } from 'fastify'
import type { Kysely } from 'kysely'
import type { Database } from '../db/schema.ts'
import { PeriodicFlush } from '../db/periodic-flush.ts'
import { appendAuditEvents, type AuditEvent } from './store.ts'

const MAX_DISTINCT_PER_FLUSH = 1000

interface Pending { event: AuditEvent, count: number, lastAt: Date }

export class AuditRecorder {
  readonly #db: Kysely<Database>
  readonly #log: FastifyBaseLogger
  readonly #flusher: PeriodicFlush
  #pending = new Map<string, Pending>()
  #overflow = 0

  constructor (db: Kysely<Database>, log: FastifyBaseLogger, flushEveryMs: number) {
    this.#db = db
    this.#log = log
    this.#flusher = new PeriodicFlush(async () => { await this.#write() }, flushEveryMs)
  }

  record (event: AuditEvent, at = new Date()): void {
    const id = JSON.stringify([event.event, event.clientId, event.keyId, event.keyPrefix, event.address, event.reason, event.details])
    const pending = this.#pending.get(id)
    if (pending !== undefined) {
      pending.count++
      pending.lastAt = at
    } else if (this.#pending.size < MAX_DISTINCT_PER_FLUSH) {
      this.#pending.set(id, { event: { ...event, occurredAt: at }, count: 1, lastAt: at })
    } else {
      this.#overflow++
    }
  }

  /** Writes what is gathered (after a write under way). */
  async flush (): Promise<void> {
    await this.#flusher.run()
  }

  async close (): Promise<void> {
    await this.#flusher.close()
  }

  async #write (): Promise<void> {
    if (this.#pending.size === 0 && this.#overflow === 0) return
    const batch = this.#pending
    const overflow = this.#overflow
    this.#pending = new Map()
    this.#overflow = 0
    const events: AuditEvent[] = [...batch.values()].map(({ event, count, lastAt }) => count === 1
      ? event
      : { ...event, details: { ...event.details, count, last_at: lastAt.toISOString() } })
    if (overflow > 0) {
      events.push({
        event: 'auth.failed',
        clientId: null,
        actor: 'service',
        reason: 'too_many_distinct_failures',
        details: { count: overflow, note: `more than ${MAX_DISTINCT_PER_FLUSH} distinct failures in one interval; the rest are counted here` }
      })
    }
    try {
      await appendAuditEvents(this.#db, events)
    } catch (error) {
      // The trail is evidence: keep the events for the next attempt, within the cap.
      for (const [id, pending] of batch) {
        if (this.#pending.size >= MAX_DISTINCT_PER_FLUSH) this.#overflow += pending.count
        else if (!this.#pending.has(id)) this.#pending.set(id, pending)
        else this.#pending.get(id)!.count += pending.count
      }
      this.#overflow += overflow
      this.#log.warn({ err: error, events: events.length }, 'could not write audit events; will retry')
    }
  }
}
