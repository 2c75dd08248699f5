// Usage without a database write per request: each key's last use (time and
// address), each client's daily counters and the bytes of logs it newly
// stores are gathered in memory and written in three statements every few
// seconds, and on close. Several instances add to the same rows, so nothing
// is overwritten.
import { sql, type Kysely } from 'kysely'
import type { FastifyBaseLogger } from 'fastify'
import type { Database } from '../db/schema.ts'
import { PeriodicFlush } from '../db/periodic-flush.ts'
import { addStoredBytes, storedBytesOf } from '../logs/stored-bytes.ts'

export const COUNTERS = ['requests', 'rejected_requests', 'rate_limited', 'logs_accepted', 'logs_duplicates', 'logs_rejected', 'auth_failures'] as const
export type Counter = typeof COUNTERS[number]
export type Counts = Record<Counter, number>

export function zeroCounts (): Counts {
  return { requests: 0, rejected_requests: 0, rate_limited: 0, logs_accepted: 0, logs_duplicates: 0, logs_rejected: 0, auth_failures: 0 }
}

interface KeyUse { at: Date, address: string | null }

const DAY_MS = 86_400_000

/** The UTC calendar day of an instant, as YYYY-MM-DD. */
export function utcDay (at: Date): string {
  return at.toISOString().slice(0, 10)
}

export class UsageRecorder {
  readonly #db: Kysely<Database>
  readonly #log: FastifyBaseLogger
  readonly #flusher: PeriodicFlush
  #keyUses = new Map<string, KeyUse>()
  /** client id → day → counts */
  #counts = new Map<string, Map<string, Counts>>()
  /** client id → bytes of logs stored since the last write, and those being written now. */
  #stored = new Map<string, number>()
  #storedInFlight = new Map<string, number>()

  constructor (db: Kysely<Database>, log: FastifyBaseLogger, flushEveryMs: number) {
    this.#db = db
    this.#log = log
    this.#flusher = new PeriodicFlush(async () => {
      await Promise.all([this.#flushKeyUses(), this.#flushCounts(), this.#flushStoredBytes()])
    }, flushEveryMs)
  }

  recordKeyUse (keyId: string, address: string | null, at = new Date()): void {
    this.#keyUses.set(keyId, { at, address })
  }

  count (clientId: string, counts: Partial<Counts>, at?: Date): void {
    addCounts(this.#counts, clientId, at === undefined ? this.#today() : utcDay(at), counts)
  }

  // Today's UTC day, spelled once a day rather than at every count (every request counts twice).
  #day = ''
  #dayStarts = -1

  #today (): string {
    const now = Date.now()
    const dayStarts = now - (now % DAY_MS)
    if (dayStarts !== this.#dayStarts) {
      this.#dayStarts = dayStarts
      this.#day = utcDay(new Date(now))
    }
    return this.#day
  }

  /** The counted bytes of logs the client has just stored. */
  addStoredBytes (clientId: string, bytes: number): void {
    if (bytes !== 0) this.#stored.set(clientId, (this.#stored.get(clientId) ?? 0) + bytes)
  }

  /** The bytes this instance counted as stored for the client and has not written yet (a write under way included). */
  pendingStoredBytes (clientId: string): number {
    return (this.#stored.get(clientId) ?? 0) + (this.#storedInFlight.get(clientId) ?? 0)
  }

  /** The client's stored bytes as this instance knows them: those written, and those it has not written yet. */
  async storedBytes (client: { id: string }): Promise<number> {
    return await storedBytesOf(this.#db, client) + this.pendingStoredBytes(client.id)
  }

  /** What this instance counted for the client and has not written yet, by day. */
  pending (clientId: string): ReadonlyMap<string, Counts> {
    return this.#counts.get(clientId) ?? new Map()
  }

  /** Writes what is gathered (after a write under way). */
  async flush (): Promise<void> {
    await this.#flusher.run()
  }

  async close (): Promise<void> {
    await this.#flusher.close()
  }

  async #flushKeyUses (): Promise<void> {
    if (this.#keyUses.size === 0) return
    const batch = this.#keyUses
    this.#keyUses = new Map()
    const uses = [...batch.entries()]
    try {
      // Only ever forward in time: another instance may have written a later use.
      await sql`
        update api_keys set last_used_at = used.at, last_used_address = used.address
        from unnest(${uses.map(([id]) => id)}::uuid[], ${uses.map(([, use]) => use.at.toISOString())}::timestamptz[],
                    ${uses.map(([, use]) => use.address)}::text[]) as used(id, at, address)
        where api_keys.id = used.id and (api_keys.last_used_at is null or api_keys.last_used_at < used.at)`.execute(this.#db)
    } catch (error) {
      // Keep the uses for the next attempt, unless newer ones arrived meanwhile.
      for (const [keyId, use] of batch) if (!this.#keyUses.has(keyId)) this.#keyUses.set(keyId, use)
      this.#log.warn({ err: error, keys: batch.size }, 'could not record key use; will retry')
    }
  }

  async #flushStoredBytes (): Promise<void> {
    if (this.#stored.size === 0) return
    const batch = this.#stored
    this.#stored = new Map()
    this.#storedInFlight = batch
    try {
      await addStoredBytes(this.#db, batch)
    } catch (error) {
      // Additive, like the counts: what failed to land joins what arrived meanwhile.
      for (const [clientId, bytes] of batch) this.addStoredBytes(clientId, bytes)
      this.#log.warn({ err: error, clients: batch.size }, 'could not record stored bytes; will retry')
    } finally {
      this.#storedInFlight = new Map()
    }
  }

  async #flushCounts (): Promise<void> {
    if (this.#counts.size === 0) return
    const batch = this.#counts
    this.#counts = new Map()
    const rows: Array<{ clientId: string, day: string, counts: Counts }> = []
    for (const [clientId, days] of batch) for (const [day, counts] of days) rows.push({ clientId, day, counts })
    const column = (counter: Counter): number[] => rows.map((row) => row.counts[counter])
    try {
      await sql`
        insert into usage_daily (client_id, day, ${sql.join(COUNTERS.map((counter) => sql.ref(counter)))})
        select counts.* from unnest(${rows.map((row) => row.clientId)}::uuid[], ${rows.map((row) => row.day)}::date[],
          ${sql.join(COUNTERS.map((counter) => sql`${column(counter)}::bigint[]`))})
          as counts (client_id, day, ${sql.join(COUNTERS.map((counter) => sql.ref(counter)))})
        -- A client deleted meanwhile has nowhere to count; its rows must not block everyone else's.
        where exists (select 1 from clients where clients.id = counts.client_id)
        on conflict (client_id, day) do update set
          ${sql.join(COUNTERS.map((counter) => sql`${sql.ref(counter)} = usage_daily.${sql.ref(counter)} + excluded.${sql.ref(counter)}`))}`
        .execute(this.#db)
    } catch (error) {
      // Counts are additive: what failed to land is added back to what arrived meanwhile.
      for (const row of rows) addCounts(this.#counts, row.clientId, row.day, row.counts)
      this.#log.warn({ err: error, rows: rows.length }, 'could not record usage; will retry')
    }
  }
}

function addCounts (into: Map<string, Map<string, Counts>>, clientId: string, day: string, counts: Partial<Counts>): void {
  let days = into.get(clientId)
  if (days === undefined) into.set(clientId, days = new Map())
  let total = days.get(day)
  if (total === undefined) days.set(day, total = zeroCounts())
  for (const counter of COUNTERS) total[counter] += counts[counter] ?? 0
}
