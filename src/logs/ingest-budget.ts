// The ingest volume limit: log entries per client per minute, a batch counting
// each of its entries (as Loki's per-tenant ingestion_rate). Minutes are
// fixed, aligned on the clock, so every instance counts the same minute; with
// Redis they count in one place, else each in its own memory. A request that
// would go over the limit takes nothing: it is refused whole, and an accepted
// request whose write fails gives its entries back.
import type { Redis } from 'ioredis'
import { LRUCache } from 'lru-cache'

export const INGEST_WINDOW_MS = 60_000

export type IngestDecision =
  | { ok: true, refund: () => Promise<void> }
  | { ok: false, used: number, retryAfterSeconds: number }

export interface IngestBudget {
  /** Takes `entries` from the client's minute if they fit within `limit`. */
  take: (clientId: string, entries: number, limit: number, nowMs?: number) => Promise<IngestDecision>
}

function retryAfter (window: number, nowMs: number): number {
  return Math.max(1, Math.ceil(((window + 1) * INGEST_WINDOW_MS - nowMs) / 1000))
}

export class MemoryIngestBudget implements IngestBudget {
  // Bounded: a client silent for a minute has nothing worth keeping.
  readonly #used = new LRUCache<string, { window: number, used: number }>({ max: 100_000, ttl: 2 * INGEST_WINDOW_MS })

  async take (clientId: string, entries: number, limit: number, nowMs = Date.now()): Promise<IngestDecision> {
    const window = Math.floor(nowMs / INGEST_WINDOW_MS)
    let slot = this.#used.get(clientId)
    if (slot === undefined || slot.window !== window) {
      slot = { window, used: 0 }
      this.#used.set(clientId, slot)
    }
    if (slot.used + entries > limit) return { ok: false, used: slot.used, retryAfterSeconds: retryAfter(window, nowMs) }
    slot.used += entries
    const taken = slot
    return { ok: true, refund: async () => { taken.used = Math.max(0, taken.used - entries) } }
  }
}

// Check and take in one step, so that two requests at once cannot refuse each
// other for entries that only one of them added (an add, check, take-back
// sequence would).
const TAKE = `
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
local entries = tonumber(ARGV[1])
if used + entries > tonumber(ARGV[2]) then return {0, used} end
redis.call('INCRBY', KEYS[1], entries)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return {1, used + entries}`

// A refund to a minute already expired would leave a negative count that never expires.
const REFUND = `
if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('DECRBY', KEYS[1], ARGV[1]) end
return 0`

export class RedisIngestBudget implements IngestBudget {
  readonly #redis: Redis
  readonly #unreachable: (error: unknown) => void

  /** `unreachable` hears of a Redis failure; the request is then let through (as the request rate limit does). */
  constructor (redis: Redis, unreachable: (error: unknown) => void) {
    this.#redis = redis
    this.#unreachable = unreachable
  }

  async take (clientId: string, entries: number, limit: number, nowMs = Date.now()): Promise<IngestDecision> {
    const window = Math.floor(nowMs / INGEST_WINDOW_MS)
    const key = `central-logger:ingest:${clientId}:${window}`
    try {
      const [taken, used] = await this.#redis.eval(TAKE, 1, key, entries, limit, 2 * INGEST_WINDOW_MS) as [number, number]
      if (taken === 0) return { ok: false, used, retryAfterSeconds: retryAfter(window, nowMs) }
    } catch (error) {
      this.#unreachable(error)
      return { ok: true, refund: async () => {} }
    }
    return {
      ok: true,
      refund: async () => { await this.#redis.eval(REFUND, 1, key, entries).catch(this.#unreachable) }
    }
  }
}
