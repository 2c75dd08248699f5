// When each key was last used, without a database write per request: uses
// are noted in memory and written in one statement every few seconds, and on
// close.
import { sql, type Kysely } from 'kysely'
import type { FastifyBaseLogger } from 'fastify'
import type { Database } from '../db/schema.ts'

const FLUSH_EVERY_MS = 5000

export class LastUseRecorder {
  readonly #db: Kysely<Database>
  readonly #log: FastifyBaseLogger
  readonly #timer: NodeJS.Timeout
  #pending = new Map<string, Date>()

  constructor (db: Kysely<Database>, log: FastifyBaseLogger) {
    this.#db = db
    this.#log = log
    this.#timer = setInterval(() => { void this.flush() }, FLUSH_EVERY_MS).unref()
  }

  record (keyId: string, at = new Date()): void {
    this.#pending.set(keyId, at)
  }

  async flush (): Promise<void> {
    if (this.#pending.size === 0) return
    const batch = this.#pending
    this.#pending = new Map()
    try {
      await sql`
        update api_keys set last_used_at = greatest(api_keys.last_used_at, used.at)
        from unnest(${[...batch.keys()]}::uuid[], ${[...batch.values()].map((at) => at.toISOString())}::timestamptz[]) as used(id, at)
        where api_keys.id = used.id`.execute(this.#db)
    } catch (error) {
      // Keep the uses for the next attempt, unless newer ones arrived meanwhile.
      for (const [keyId, at] of batch) if (!this.#pending.has(keyId)) this.#pending.set(keyId, at)
      this.#log.warn({ err: error, keys: batch.size }, 'could not record key use; will retry')
    }
  }

  async close (): Promise<void> {
    clearInterval(this.#timer)
    await this.flush()
  }
}
