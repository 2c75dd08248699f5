// Failed authentications counted across instances, through Redis: every
// failure is added to the address's count there, and the instance that sees
// it pass AUTH_FAIL_MAX publishes the block, which every instance (itself
// included) applies to its own AuthThrottle. The check on each request stays
// in memory: a blocked address costs no Redis, no database. While Redis is
// unreachable, each instance still counts and blocks on its own.
import type { FastifyBaseLogger } from 'fastify'
import type { Redis } from 'ioredis'
import type { AuthThrottle, ThrottleOptions } from './auth-throttle.ts'

const CHANNEL = 'central-logger:auth-blocks'
const PREFIX = 'central-logger:auth-failures:'

export class SharedAuthFailures {
  readonly #redis: Redis
  readonly #subscriber: Redis
  readonly #throttle: AuthThrottle
  readonly #options: ThrottleOptions
  readonly #log: FastifyBaseLogger

  constructor (redis: Redis, throttle: AuthThrottle, options: ThrottleOptions, log: FastifyBaseLogger) {
    this.#redis = redis
    this.#throttle = throttle
    this.#options = options
    this.#log = log
    // A subscribed connection takes no other commands. This one queues its
    // SUBSCRIBE until Redis is reachable and subscribes again after a reconnection.
    this.#subscriber = redis.duplicate({ enableOfflineQueue: true, maxRetriesPerRequest: null })
    this.#subscriber.on('error', () => {}) // the shared connection already reports outages
    this.#subscriber.on('message', (_channel: string, message: string) => { this.#applyBlock(message) })
    this.#subscriber.subscribe(CHANNEL).catch((error: unknown) => {
      this.#log.warn({ err: error }, 'could not subscribe to shared authentication blocks')
    })
  }

  /** Adds a failure of the address to the shared count (without waiting for Redis). */
  report (address: string): void {
    if (this.#options.maxFailures === 0) return
    void this.#count(address).catch((error: unknown) => {
      this.#log.debug({ err: error }, 'failed authentication not shared: Redis unreachable')
    })
  }

  async #count (address: string): Promise<void> {
    const key = PREFIX + address
    // The window starts with the first failure; INCR keeps the expiry SET gave.
    const results = await this.#redis.multi().set(key, 0, 'PX', this.#options.windowMs, 'NX').incr(key).exec()
    const failures = Number(results?.[1]?.[1])
    // Exactly one instance sees the count pass the threshold, and announces it once.
    if (failures !== this.#options.maxFailures + 1) return
    await this.#redis.del(key)
    await this.#redis.publish(CHANNEL, JSON.stringify({ address, until: Date.now() + this.#options.cooldownMs }))
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
