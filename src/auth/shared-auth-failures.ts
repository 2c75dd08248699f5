// Failed authentications counted across instances, through Redis: every
// failure is added to the address group's count there, and the instance that
// sees it pass AUTH_FAIL_MAX publishes the block, which every instance (itself
// included) applies to its own AuthThrottle. The check on each request stays
// in memory: a blocked address costs no Redis, no database. While Redis is
// unreachable, each instance still counts and blocks on its own. Keys and the
// channel start with REDIS_PREFIX, so deployments sharing a Redis never share
// counts or blocks.
import type { FastifyBaseLogger } from 'fastify'
import type { Redis } from 'ioredis'
import type { AuthThrottle, ThrottleOptions } from './auth-throttle.ts'

export class SharedAuthFailures {
  readonly #redis: Redis
  readonly #subscriber: Redis
  readonly #throttle: AuthThrottle
  readonly #options: ThrottleOptions
  readonly #log: FastifyBaseLogger
  readonly #channel: string
  readonly #countPrefix: string

  /** `prefix` is REDIS_PREFIX; `options.onBlock` hears of the blocks this instance publishes. */
  constructor (redis: Redis, throttle: AuthThrottle, options: ThrottleOptions, log: FastifyBaseLogger, prefix: string) {
    this.#redis = redis
    this.#throttle = throttle
    this.#options = options
    this.#log = log
    this.#channel = `${prefix}auth-blocks`
    this.#countPrefix = `${prefix}auth-failures:`
    // A subscribed connection takes no other commands. This one queues its
    // SUBSCRIBE until Redis is reachable and subscribes again after a reconnection.
    this.#subscriber = redis.duplicate({ enableOfflineQueue: true, maxRetriesPerRequest: null })
    this.#subscriber.on('error', () => {}) // the shared connection already reports outages
    this.#subscriber.on('message', (_channel: string, message: string) => { this.#applyBlock(message) })
    this.#subscriber.subscribe(this.#channel).catch((error: unknown) => {
      this.#log.warn({ err: error }, 'could not subscribe to shared authentication blocks')
    })
  }

  /** Adds a failure of the address group to the shared count (without waiting for Redis). */
  report (group: string): void {
    if (this.#options.maxFailures === 0) return
    void this.#count(group).catch((error: unknown) => {
      this.#log.debug({ err: error }, 'failed authentication not shared: Redis unreachable')
    })
  }

  /** Forgets the group's shared count (the provider cleared it; every instance hears of that by itself). */
  forget (group: string): void {
    void this.#redis.del(this.#countPrefix + group).catch(() => {})
  }

  async #count (group: string): Promise<void> {
    const key = this.#countPrefix + group
    // The window starts with the first failure; INCR keeps the expiry SET gave.
    const results = await this.#redis.multi().set(key, 0, 'PX', this.#options.windowMs, 'NX').incr(key).exec()
    const failures = Number(results?.[1]?.[1])
    // Exactly one instance sees the count pass the threshold, and announces it once.
    if (failures !== this.#options.maxFailures + 1) return
    await this.#redis.del(key)
    const since = Date.now()
    const until = since + this.#options.cooldownMs
    await this.#redis.publish(this.#channel, JSON.stringify({ address: group, until }))
    this.#options.onBlock?.(group, since, until)
  }

  #applyBlock (message: string): void {
    try {
      const { address, until } = JSON.parse(message) as { address: unknown, until: unknown }
      if (typeof address === 'string' && typeof until === 'number') this.#throttle.block(address, until)
    } catch {
      // Not a message of ours: ignored.
    }
  }

  close (): void {
    this.#subscriber.disconnect()
  }
}
