// Authentication failures for the audit trail, without a database write per
// failed request: a stream of bad keys must not turn into a stream of inserts.
// Identical failures (same event, client, key, address, reason and details,
// which name the method and route, so that a row describes every request it
// counts) within a flush interval become one row with a count.
//
// Distinct rows are capped per interval, in budgets that cannot eat into each
// other, so that a flood of made-up keys never pushes a client's own failures
// out of the trail the client reads:
// - failures no client can be charged with: at most 1,000 distinct rows, the
//   rest summed into one overflow row with no client;
// - failures with a client's keys: at most 100 distinct rows per client, and
//   10,000 over all clients, the rest summed into an overflow row of that
//   client (one per event type), which carries its id.
// So memory holds at most 11,000 rows, plus two small sums per client whose
// keys were refused.
import type { FastifyBaseLogger } from 'fastify'
import type { Kysely } from 'kysely'
import type { Database } from '../db/schema.ts'
import { PeriodicFlush } from '../db/periodic-flush.ts'
import { appendAuditEvents, type AuditEvent, type AuditEventType } from './store.ts'

export const MAX_ANONYMOUS_ROWS = 1000
export const MAX_ROWS_PER_CLIENT = 100
export const MAX_CLIENT_ROWS = 10_000

interface Pending { event: AuditEvent, count: number, lastAt: Date }

/** The key of a failure: its id and prefix, or nulls when it names none. */
interface FailedKey { id: string | null, prefix: string | null }

/** The failures past a cap, of one client (or of none) and one event type, summed. */
interface Overflow {
  event: AuditEventType
  clientId: string | null
  count: number
  /** Count by reason (an error code: a small, closed set). */
  reasons: Map<string, number>
  firstAt: Date
  lastAt: Date
  /** The key every failure summed used; `several` once two differ. */
  key: FailedKey | 'several'
}

function rowId (event: AuditEvent): string {
  return JSON.stringify([event.event, event.clientId, event.keyId, event.keyPrefix, event.address, event.reason, event.details])
}

/** What one flush interval gathered. */
class Batch {
  readonly rows = new Map<string, Pending>()
  readonly overflows = new Map<string, Overflow>()
  #anonymousRows = 0
  #clientRows = 0
  readonly #rowsByClient = new Map<string, number>()

  get empty (): boolean {
    return this.rows.size === 0 && this.overflows.size === 0
  }

  /** `count` failures like `event`, the first at `firstAt` and the last at `lastAt`. */
  add (event: AuditEvent, count: number, firstAt: Date, lastAt: Date): void {
    const id = rowId(event)
    const pending = this.rows.get(id)
    if (pending !== undefined) {
      pending.count += count
      if (lastAt > pending.lastAt) pending.lastAt = lastAt
    } else if (this.#hasRoomFor(event.clientId)) {
      this.rows.set(id, { event: { ...event, occurredAt: firstAt }, count, lastAt })
      this.#countRow(event.clientId)
    } else {
      this.#overflow(event, count, firstAt, lastAt)
    }
  }

  /** Adds what another batch (one that could not be written) held. */
  merge (other: Batch): void {
    for (const { event, count, lastAt } of other.rows.values()) this.add(event, count, event.occurredAt ?? lastAt, lastAt)
    for (const overflow of other.overflows.values()) this.#sum(overflow)
  }

  /** The rows to write. */
  events (): AuditEvent[] {
    const events: AuditEvent[] = [...this.rows.values()].map(({ event, count, lastAt }) => count === 1
      ? event
      : { ...event, details: { ...event.details, count, last_at: lastAt.toISOString() } })
    for (const overflow of this.overflows.values()) events.push(overflowEvent(overflow))
    return events
  }

  #hasRoomFor (clientId: string | null): boolean {
    if (clientId === null) return this.#anonymousRows < MAX_ANONYMOUS_ROWS
    return this.#clientRows < MAX_CLIENT_ROWS && (this.#rowsByClient.get(clientId) ?? 0) < MAX_ROWS_PER_CLIENT
  }

  #countRow (clientId: string | null): void {
    if (clientId === null) {
      this.#anonymousRows++
      return
    }
    this.#clientRows++
    this.#rowsByClient.set(clientId, (this.#rowsByClient.get(clientId) ?? 0) + 1)
  }

  #overflow (event: AuditEvent, count: number, firstAt: Date, lastAt: Date): void {
    this.#sum({
      event: event.event,
      clientId: event.clientId,
      count,
      reasons: new Map([[event.reason ?? 'unknown', count]]),
      firstAt,
      lastAt,
      key: { id: event.keyId ?? null, prefix: event.keyPrefix ?? null }
    })
  }

  /** Adds a sum to the overflow row of its client and event. */
  #sum (sum: Overflow): void {
    const id = JSON.stringify([sum.event, sum.clientId])
    const into = this.overflows.get(id)
    if (into === undefined) {
      this.overflows.set(id, { ...sum, reasons: new Map(sum.reasons) })
      return
    }
    into.count += sum.count
    for (const [reason, count] of sum.reasons) into.reasons.set(reason, (into.reasons.get(reason) ?? 0) + count)
    if (sum.firstAt < into.firstAt) into.firstAt = sum.firstAt
    if (sum.lastAt > into.lastAt) into.lastAt = sum.lastAt
    if (into.key !== 'several' && (sum.key === 'several' || sum.key.id !== into.key.id || sum.key.prefix !== into.key.prefix)) {
      into.key = 'several'
    }
  }
}

function overflowEvent (overflow: Overflow): AuditEvent {
  const capped = overflow.clientId === null
    ? `more than ${MAX_ANONYMOUS_ROWS} distinct failures with no known client in one interval`
    : `more distinct failures with this client's keys in one interval than are kept one by one (${MAX_ROWS_PER_CLIENT} a client, ` +
      `${MAX_CLIENT_ROWS} over all clients)`
  const key = overflow.key === 'several' ? { id: null, prefix: null } : overflow.key
  return {
    event: overflow.event,
    clientId: overflow.clientId,
    keyId: key.id,
    keyPrefix: key.prefix,
    actor: 'service',
    reason: 'too_many_distinct_failures',
    occurredAt: overflow.firstAt,
    details: {
      count: overflow.count,
      reasons: Object.fromEntries(overflow.reasons),
      last_at: overflow.lastAt.toISOString(),
      note: `${capped}; the rest are counted here`
    }
  }
}

export class AuditRecorder {
  readonly #db: Kysely<Database>
  readonly #log: FastifyBaseLogger
  readonly #flusher: PeriodicFlush
  #batch = new Batch()

  constructor (db: Kysely<Database>, log: FastifyBaseLogger, flushEveryMs: number) {
    this.#db = db
    this.#log = log
    this.#flusher = new PeriodicFlush(async () => { await this.#write() }, flushEveryMs)
  }

  record (event: AuditEvent, at = new Date()): void {
    this.#batch.add(event, 1, at, at)
  }

  /** Writes what is gathered (after a write under way). */
  async flush (): Promise<void> {
    await this.#flusher.run()
  }

  async close (): Promise<void> {
    await this.#flusher.close()
  }

  async #write (): Promise<void> {
    if (this.#batch.empty) return
    const batch = this.#batch
    this.#batch = new Batch()
    const events = batch.events()
    try {
      // All rows or none (see appendAuditEvents), so nothing kept below is ever written twice.
      await appendAuditEvents(this.#db, events)
    } catch (error) {
      // The trail is evidence: keep the events for the next attempt, added to
      // what came meanwhile, within the same caps.
      batch.merge(this.#batch)
      this.#batch = batch
      this.#log.warn({ err: error, events: events.length }, 'could not write audit events; will retry')
    }
  }
}
