// Repeated authentication failures from one address group (an IPv4 address,
// or an IPv6 /64: see net/address-group.ts): past a threshold within a
// window, the group is blocked for a cooling-off period, and the keys it sends
// that the key directory does not know are refused 429 without a lookup. A
// key that resolves to an active key is never refused here: the throttle
// keeps strangers away from the database, not tenants from their logs.
//
// Attempts still being looked up count as failures until they are known not
// to be, so a burst of made-up keys sent at once cannot outrun the count.
// Counted per instance, in bounded memory: an attacker spreading over many
// addresses evicts the oldest, never exhausts the process. With Redis, the
// counts are also shared (shared-auth-failures.ts) and a block decided by any
// instance reaches every instance's memory here.
import type { LRUCache } from 'lru-cache'
import { growingLru } from '../growing-lru.ts'

export interface ThrottleOptions {
  /** Failures allowed per window; 0 disables throttling. */
  maxFailures: number
  windowMs: number
  cooldownMs: number
  /** Address groups tracked at once. */
  maxAddresses?: number
  /** Told when this instance blocks a group (not when it applies a block decided elsewhere). */
  onBlock?: (group: string, since: number, until: number) => void
}

export class AuthThrottle {
  readonly #options: ThrottleOptions
  readonly #failures: LRUCache<string, { count: number, since: number }>
  readonly #blocked: LRUCache<string, number>
  // Lookups under way per group; an entry lives only while one is.
  readonly #pending = new Map<string, number>()

  constructor (options: ThrottleOptions) {
    this.#options = options
    const max = options.maxAddresses ?? 100_000
    this.#failures = growingLru({ maxEntries: max, ttlMs: options.windowMs })
    this.#blocked = growingLru({ maxEntries: max, ttlMs: options.cooldownMs })
  }

  /** Seconds the group is still blocked for, or 0. */
  waitFor (group: string, now = Date.now()): number {
    const until = this.#blocked.get(group)
    return until === undefined || until <= now ? 0 : Math.ceil((until - now) / 1000)
  }

  /**
   * Seconds a key the directory does not know must wait before it is looked
   * up, or 0: while the group is blocked, and while its failures in this
   * window and its lookups under way together reach the threshold (one more
   * could only be another failure).
   */
  holdFor (group: string, now = Date.now()): number {
    const blocked = this.waitFor(group, now)
    if (blocked > 0 || this.#options.maxFailures === 0) return blocked
    const entry = this.#currentFailures(group, now)
    const failures = entry?.count ?? 0
    if (failures + (this.#pending.get(group) ?? 0) < this.#options.maxFailures) return 0
    return failures >= this.#options.maxFailures && entry !== undefined
      ? Math.max(1, Math.ceil((entry.since + this.#options.windowMs - now) / 1000))
      : 1
  }

  /** A lookup for the group begins; call the function returned when it ends, whatever its outcome. */
  begin (group: string): () => void {
    this.#pending.set(group, (this.#pending.get(group) ?? 0) + 1)
    let ended = false
    return () => {
      if (ended) return
      ended = true
      const left = (this.#pending.get(group) ?? 1) - 1
      if (left > 0) this.#pending.set(group, left)
      else this.#pending.delete(group)
    }
  }

  /** Blocks the group until then (a block decided elsewhere: another instance saw its failures). */
  block (group: string, until: number, now = Date.now()): void {
    if (until <= now || (this.#blocked.get(group) ?? 0) >= until) return
    this.#failures.delete(group)
    this.#blocked.set(group, until, { ttl: until - now })
  }

  /** Forgets the group's block and failures (the provider cleared it). */
  unblock (group: string): void {
    this.#blocked.delete(group)
    this.#failures.delete(group)
  }

  /** Forgets every block and failure. */
  unblockAll (): void {
    this.#blocked.clear()
    this.#failures.clear()
  }

  /** Address groups blocked now, for metrics: every block is looked at, so only at a scrape. */
  blockedCount (now = Date.now()): number {
    let blocked = 0
    for (const until of this.#blocked.values()) if (until > now) blocked++
    return blocked
  }

  /** Notes a failure; true when it puts the group into its cooling-off period. */
  fail (group: string, now = Date.now()): boolean {
    if (this.#options.maxFailures === 0 || this.waitFor(group, now) > 0) return false
    let entry = this.#currentFailures(group, now)
    if (entry === undefined) {
      entry = { count: 0, since: now }
      this.#failures.set(group, entry)
    }
    entry.count++
    if (entry.count <= this.#options.maxFailures) return false
    this.#failures.delete(group)
    const until = now + this.#options.cooldownMs
    this.#blocked.set(group, until)
    this.#options.onBlock?.(group, now, until)
    return true
  }

  #currentFailures (group: string, now: number): { count: number, since: number } | undefined {
    const entry = this.#failures.get(group)
    return entry === undefined || now - entry.since >= this.#options.windowMs ? undefined : entry
  }
}
