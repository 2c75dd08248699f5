// Repeated authentication failures from one address: past a threshold within
// a window, the address is answered 429 for a cooling-off period, before its
// key is even looked at, so a stream of guessed keys costs no database work.
// Counted per instance, in bounded memory: an attacker spreading over many
// addresses evicts the oldest, never exhausts the process. With Redis, the
// counts are also shared (shared-auth-failures.ts) and a block decided by any
// instance reaches every instance's memory here.
import { LRUCache } from 'lru-cache'

export interface ThrottleOptions {
  /** Failures allowed per window; 0 disables throttling. */
  maxFailures: number
  windowMs: number
  cooldownMs: number
  /** Addresses tracked at once. */
  maxAddresses?: number
}

export class AuthThrottle {
  readonly #options: ThrottleOptions
  readonly #failures: LRUCache<string, { count: number, since: number }>
  readonly #blocked: LRUCache<string, number>

  constructor (options: ThrottleOptions) {
    this.#options = options
    const max = options.maxAddresses ?? 100_000
    this.#failures = new LRUCache({ max, ttl: options.windowMs })
    this.#blocked = new LRUCache({ max, ttl: options.cooldownMs })
  }

  /** Seconds the address must still wait, or 0 when it may try. */
  waitFor (address: string, now = Date.now()): number {
    const until = this.#blocked.get(address)
    return until === undefined || until <= now ? 0 : Math.ceil((until - now) / 1000)
  }

  /** Blocks the address until then (a block decided elsewhere: another instance saw its failures). */
  block (address: string, until: number, now = Date.now()): void {
    if (until <= now || (this.#blocked.get(address) ?? 0) >= until) return
    this.#failures.delete(address)
    this.#blocked.set(address, until, { ttl: until - now })
  }

  /** Notes a failure; true when it puts the address into its cooling-off period. */
  fail (address: string, now = Date.now()): boolean {
    if (this.#options.maxFailures === 0) return false
    let entry = this.#failures.get(address)
    if (entry === undefined || now - entry.since >= this.#options.windowMs) {
      entry = { count: 0, since: now }
      this.#failures.set(address, entry)
    }
    entry.count++
    if (entry.count <= this.#options.maxFailures) return false
    this.#failures.delete(address)
    this.#blocked.set(address, now + this.#options.cooldownMs)
    return true
  }
}
