// Single-use nonces for signed requests. A nonce is claimed per client and
// kept until well after its request's timestamp leaves the accepted window;
// after that the timestamp alone refuses a replay. In Redis when REDIS_URL is set (one
// SET NX per request), else in PostgreSQL (one upsert; expired rows are
// swept in the background). Either way every instance sees every claim.
import type { Kysely } from 'kysely'
import { sql } from 'kysely'
import type { Redis } from 'ioredis'
import type { Database } from '../db/schema.ts'

export interface NonceStore {
  /** True if the nonce was not in use for this client; it is then in use until `expiresAt`. */
  claim: (clientId: string, nonce: string, expiresAt: Date) => Promise<boolean>
  close: () => Promise<void>
}

export class RedisNonceStore implements NonceStore {
  readonly #redis: Redis
  readonly #prefix: string

  /** `prefix` is REDIS_PREFIX. */
  constructor (redis: Redis, prefix: string) {
    this.#redis = redis
    this.#prefix = `${prefix}nonce:`
  }

  async claim (clientId: string, nonce: string, expiresAt: Date): Promise<boolean> {
    const ttlMs = Math.max(1, expiresAt.getTime() - Date.now())
    return await this.#redis.set(`${this.#prefix}${clientId}:${nonce}`, '1', 'PX', ttlMs, 'NX') === 'OK'
  }

  async close (): Promise<void> {}
}

export class PostgresNonceStore implements NonceStore {
  readonly #db: Kysely<Database>
  readonly #sweeper: NodeJS.Timeout

  constructor (db: Kysely<Database>, sweepEveryMs = 60_000) {
    this.#db = db
    this.#sweeper = setInterval(() => { this.sweep().catch(() => {}) }, sweepEveryMs).unref()
  }

  async claim (clientId: string, nonce: string, expiresAt: Date): Promise<boolean> {
    // A row left from an expired use does not block the nonce: it is taken over.
    const claimed = await this.#db.insertInto('request_nonces')
      .values({ client_id: clientId, nonce, expires_at: expiresAt })
      .onConflict((oc) => oc.columns(['client_id', 'nonce'])
        .doUpdateSet({ expires_at: (eb) => eb.ref('excluded.expires_at') })
        .where('request_nonces.expires_at', '<', sql<Date>`now()`))
      .returning('nonce')
      .executeTakeFirst()
    return claimed !== undefined
  }

  /** Deletes the nonces whose window has passed. */
  async sweep (): Promise<void> {
    await this.#db.deleteFrom('request_nonces').where('expires_at', '<', sql<Date>`now()`).execute()
  }

  async close (): Promise<void> {
    clearInterval(this.#sweeper)
  }
}
