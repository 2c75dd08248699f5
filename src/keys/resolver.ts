// Resolves a presented API key to its client, through an in-process cache so
// that a hot key costs no database round trip. Unknown keys are cached too
// (as "unknown"), so a stream of made-up keys cannot hammer the database.
import { timingSafeEqual } from 'node:crypto'
import type { Kysely } from 'kysely'
import { LRUCache } from 'lru-cache'
import type { Database } from '../db/schema.ts'
import { Errors } from '../errors.ts'
import { hashKey, isWellFormedKey } from './format.ts'
import { findKeyByHash, type KeyRecord } from './store.ts'
import { isScope, type Scope } from './scopes.ts'
import { refusalError, refusalOf } from './status.ts'

export interface AuthenticatedClient {
  id: string
  name: string
  keyId: string
  keyPrefix: string
  scopes: Scope[]
}

interface CacheEntry { record: KeyRecord | null }

export interface ResolverOptions {
  /** 0 disables the cache. */
  ttlMs: number
  max: number
}

export class KeyResolver {
  readonly #db: Kysely<Database>
  readonly #cache: LRUCache<string, CacheEntry, Buffer> | undefined

  constructor (db: Kysely<Database>, options: ResolverOptions) {
    this.#db = db
    if (options.ttlMs > 0) {
      this.#cache = new LRUCache<string, CacheEntry, Buffer>({
        max: options.max,
        ttl: options.ttlMs,
        // Concurrent requests with the same uncached key share one lookup.
        fetchMethod: async (_hex, _stale, { context }) => ({ record: await findKeyByHash(db, context) ?? null })
      })
    }
  }

  /** The client behind the key, or an HttpError (401) saying why the key is refused. */
  async resolve (apiKey: string, now = new Date()): Promise<AuthenticatedClient> {
    if (!isWellFormedKey(apiKey)) throw Errors.malformedKey()
    const keyHash = hashKey(apiKey)
    const record = this.#cache === undefined
      ? await findKeyByHash(this.#db, keyHash)
      : (await this.#cache.fetch(keyHash.toString('hex'), { context: keyHash }))?.record
    // The lookup matched on the hash already; comparing again in constant time
    // keeps the decision itself free of timing differences.
    if (record == null || !timingSafeEqual(record.key_hash, keyHash)) throw Errors.unknownKey()
    const refusal = refusalOf(record, now)
    if (refusal !== undefined) throw refusalError(refusal)
    return {
      id: record.client_id,
      name: record.client_name,
      keyId: record.id,
      keyPrefix: record.prefix,
      scopes: record.scopes.filter(isScope)
    }
  }

  /** Forgets every cached resolution (after keys change in this process). */
  clear (): void {
    this.#cache?.clear()
  }
}
