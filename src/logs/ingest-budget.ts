// The ingest volume limits: log entries and their counted bytes
// (entry-size.ts) per client per minute, a batch counting each of its entries
// (as Loki's per-tenant ingestion_rate). Minutes are fixed, aligned on the
// clock, so every instance counts the same minute; with Redis they count in
// one place, else each in its own memory. Entries and bytes are checked and
// taken together: a request that would go over either limit takes nothing
// from both (it is refused whole), and an accepted request whose write fails
// gives both back.
import type { Redis } from 'ioredis'
import { growingLru } from '../growing-lru.ts'

export const INGEST_WINDOW_MS = 60_000

/** How much a request sends, how much a minute has taken, or how much it may take. */
export interface IngestVolume {
  entries: number
  bytes: number
}

export type IngestDecision =
  | { ok: true, refund: () => Promise<void> }
  | { ok: false, over: keyof IngestVolume, used: IngestVolume, retryAfterSeconds: number }

export interface IngestBudget {
  /** Takes `volume` from the client's minute if its entries and its bytes both fit within `limits`; else nothing. */
  take: (clientId: string, volume: IngestVolume, limits: IngestVolume, nowMs?: number) => Promise<IngestDecision>
}

function retryAfter (window: number, nowMs: number): number {
  return Math.max(1, Math.ceil(((window + 1) * INGEST_WINDOW_MS - nowMs) / 1000))
}

/** The limit the volume would go past, entries first. */
function overLimit (used: IngestVolume, volume: IngestVolume, limits: IngestVolume): keyof IngestVolume | undefined {
  if (used.entries + volume.entries > limits.entries) return 'entries'
  if (used.bytes + volume.bytes > limits.bytes) return 'bytes'
  return undefined
}

export class MemoryIngestBudget implements IngestBudget {
  // Bounded: a client silent for a minute has nothing worth keeping.
  readonly #used = growingLru<string, { window: number, used: IngestVolume }>({ maxEntries: 100_000, ttlMs: 2 * INGEST_WINDOW_MS })

  async take (clientId: string, volume: IngestVolume, limits: IngestVolume, nowMs = Date.now()): Promise<IngestDecision> {
    const window = Math.floor(nowMs / INGEST_WINDOW_MS)
    let slot = this.#used.get(clientId)
    if (slot === undefined || slot.window !== window) {
      slot = { window, used: { entries: 0, bytes: 0 } }
      this.#used.set(clientId, slot)
    }
    const used = slot.used
    const over = overLimit(used, volume, limits)
    if (over !== undefined) return { ok: false, over, used: { ...used }, retryAfterSeconds: retryAfter(window, nowMs) }
    used.entries += volume.entries
    used.bytes += volume.bytes
    return {
      ok: true,
      refund: async () => {
        used.entries = Math.max(0, used.entries - volume.entries)
        used.bytes = Math.max(0, used.bytes - volume.bytes)
      }
    }
  }
}

// Check and take in one step, both counters of one hash, so that two requests
// at once cannot refuse each other for a volume that only one of them added
// (an add, check, take-back sequence would), and a request is never counted
// in one limit and refused by the other.
const TAKE = `
local used = redis.call('HMGET', KEYS[1], 'entries', 'bytes')
local entries = tonumber(used[1] or '0')
local bytes = tonumber(used[2] or '0')
if entries + tonumber(ARGV[1]) > tonumber(ARGV[3]) then return {0, entries, bytes} end
if bytes + tonumber(ARGV[2]) > tonumber(ARGV[4]) then return {1, entries, bytes} end
redis.call('HINCRBY', KEYS[1], 'entries', ARGV[1])
redis.call('HINCRBY', KEYS[1], 'bytes', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return {2, entries + tonumber(ARGV[1]), bytes + tonumber(ARGV[2])}`

// A refund to a minute already expired would leave negative counts that never expire.
const REFUND = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HINCRBY', KEYS[1], 'entries', ARGV[1])
redis.call('HINCRBY', KEYS[1], 'bytes', ARGV[2])
return 1`

const OVER = ['entries', 'bytes'] as const

export class RedisIngestBudget implements IngestBudget {
  readonly #redis: Redis
  readonly #unreachable: (error: unknown) => void
  readonly #prefix: string

  /**
   * `unreachable` hears of a Redis failure; the request is then let through
   * (as the request rate limit does). `prefix` starts every key, so that
   * deployments sharing a Redis count apart.
   */
  constructor (redis: Redis, unreachable: (error: unknown) => void, prefix = 'central-logger:') {
    this.#redis = redis
    this.#unreachable = unreachable
    this.#prefix = prefix
  }

  /** The key a client's minute is counted under. */
  keyOf (clientId: string, window: number): string {
    return `${this.#prefix}ingest-volume:${clientId}:${window}`
  }

  async take (clientId: string, volume: IngestVolume, limits: IngestVolume, nowMs = Date.now()): Promise<IngestDecision> {
    const window = Math.floor(nowMs / INGEST_WINDOW_MS)
    const key = this.keyOf(clientId, window)
    try {
      const [outcome, entries, bytes] = await this.#redis.eval(TAKE, 1, key, volume.entries, volume.bytes,
        limits.entries, limits.bytes, 2 * INGEST_WINDOW_MS) as [number, number, number]
      const over = OVER[outcome]
      if (over !== undefined) return { ok: false, over, used: { entries, bytes }, retryAfterSeconds: retryAfter(window, nowMs) }
    } catch (error) {
      this.#unreachable(error)
      return { ok: true, refund: async () => {} }
    }
    return {
      ok: true,
      refund: async () => { await this.#redis.eval(REFUND, 1, key, -volume.entries, -volume.bytes).catch(this.#unreachable) }
    }
  }
}
