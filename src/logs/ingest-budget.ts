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
      const results = await this.#redis.multi().incrby(key, entries).pexpire(key, 2 * INGEST_WINDOW_MS).exec()
      const used = Number(results?.[0]?.[1])
      if (results === null || !Number.isFinite(used)) throw new Error('the Redis transaction was not run')
      if (used > limit) {
        // Over: give back what was just added, so a refused request takes nothing.
        await this.#redis.decrby(key, entries)
        return { ok: false, used: used - entries, retryAfterSeconds: retryAfter(window, nowMs) }
      }
    } catch (error) {
      this.#unreachable(error)
      return { ok: true, refund: async () => {} }
    }
    return {
      ok: true,
      refund: async () => { await this.#redis.decrby(key, entries).catch(this.#unreachable) }
    }
  }
}
