// Resolves a presented API key to its client, through an in-process cache so
// that a hot key costs no database round trip. Unknown keys are cached too
// (as "unknown"), so a stream of made-up keys cannot hammer the database.
// The cache is kept honest by key change notifications (invalidation.ts):
// a changed key is evicted at once (a lookup under way at that moment is not
// cached), and while notifications are not being received the cache is
// bypassed. The TTL is only a backstop. Beside the cache, a directory of
// every key's hash prefix (key-directory.ts) tells, without a lookup, whether
// a key can exist at all.
import { timingSafeEqual } from 'node:crypto'
import type { Kysely } from 'kysely'
import { LRUCache } from 'lru-cache'
import type { Database } from '../db/schema.ts'
import { Errors, type HttpError } from '../errors.ts'
import { displayPrefix, hashKey, isWellFormedKey } from '../keys/format.ts'
import { findKeyByHash, type KeyRecord } from '../keys/store.ts'
import { KeyDirectory } from './key-directory.ts'
import { isScope, type Scope } from '../keys/scopes.ts'
import { deriveSigningSecret } from '../signing/secret.ts'
import { endOf, refusalError, refusalOf, type KeyRefusal } from '../keys/status.ts'

/** Shared by every request that presents the same key while it stays cached: never changed once made. */
export interface AuthenticatedClient {
  readonly id: string
  readonly name: string
  readonly keyId: string
  readonly keyPrefix: string
  readonly scopes: Scope[]
  /** CIDR ranges the key accepts requests from; null: any address. */
  readonly allowedCidrs: string[] | null
  /** When the key stops working by itself (expiry or end of rotation grace), if ever. */
  readonly keyEndsAt: Date | null
  /** The client's own requests per rate limit window; null: the service's default. */
  readonly rateLimit: number | null
  /** The client's own log entries per minute; null: the service's default. */
  readonly ingestRateLimit: number | null
  /** The client's own counted bytes of log entries per minute; null: the service's default. */
  readonly ingestBytesLimit: number | null
  /** The client's own storage quota in counted bytes; null: the service's default; 0: none. */
  readonly storageQuotaBytes: number | null
  /** The environment and status a log gets when it says none, on every ingest route; null: none. */
  readonly defaults: { readonly environment: string | null, readonly status: string | null }
  /** Whether the client (or this development key) signs its requests. */
  readonly signs: boolean
  /** The secret its requests are signed with; null when it does not sign, or signs but SIGNING_KEY is not configured here. */
  readonly signingSecret: string | null
  /** Rotated, and accepted only until its grace ends. */
  readonly inGrace: boolean
  /** Configured in the environment rather than stored. */
  readonly development: boolean
}

/** Why a key was refused, with what is known of it (never the key). */
export interface Refusal {
  error: HttpError
  /** A refusal the key's state explains (revoked, rotated, expired): the key and its client are known. */
  refusal?: KeyRefusal
  clientId?: string
  keyId?: string
  keyPrefix?: string
}

export type Resolution = { ok: true, client: AuthenticatedClient } | ({ ok: false } & Refusal)

interface CacheEntry {
  record: KeyRecord | null
  /** The stored key's client as requests see it, made once; judged against the clock at every use. */
  accepted?: Resolution
}

export interface ResolverOptions {
  /** 0 disables the cache. */
  ttlMs: number
  max: number
  /** Development keys from the environment, by key hash (hex). */
  devKeys?: ReadonlyMap<string, KeyRecord>
  /** SIGNING_KEY, which clients' signing secrets are derived from. */
  signingKey?: string
}

export class KeyResolver {
  readonly #db: Kysely<Database>
  readonly #cache: LRUCache<string, CacheEntry> | undefined
  readonly #devKeys: ReadonlyMap<string, KeyRecord>
  readonly #signingKey: string | undefined
  /** Which keys exist; filled and kept up to date by whoever hears key changes (invalidation.ts). */
  readonly directory = new KeyDirectory()
  /** Database lookups made, for the tests and metrics that must see what a request cost. */
  lookups = 0
  /** Keys judged from the cache, and keys the cache could not judge (a lookup followed), for metrics. */
  cacheHits = 0
  cacheMisses = 0
  // Until key change notifications are known to arrive, a cached answer could be stale.
  #cacheTrusted = false
  // Lookups under way, by key hash: concurrent requests with the same uncached key share one.
  readonly #inFlight = new Map<string, Promise<KeyRecord | undefined>>()
  // Moves on at every change announced. A lookup that was under way when one
  // arrived may have read the key as it was before: its answer is not cached,
  // or a revoked key would be accepted from the cache until the TTL ran out.
  #generation = 0

  constructor (db: Kysely<Database>, options: ResolverOptions) {
    this.#db = db
    this.#devKeys = options.devKeys ?? new Map()
    this.#signingKey = options.signingKey === '' ? undefined : options.signingKey
    if (options.ttlMs > 0) {
      this.#cache = new LRUCache<string, CacheEntry>({ max: options.max, ttl: options.ttlMs })
    }
  }

  /** Whether the text could be a key at all: a well-formed key, or a configured development key. */
  couldBeKey (apiKey: string): boolean {
    return isWellFormedKey(apiKey) || (this.#devKeys.size > 0 && this.#devKeys.has(hashKey(apiKey).toString('hex')))
  }

  /**
   * Whether the key may exist, judged without the database: a development
   * key, or a key in the directory. False for a key never issued (and one
   * revoked before the directory was last filled), and for every key until
   * the directory has been filled once.
   */
  mayExist (apiKey: string): boolean {
    const keyHash = hashKey(apiKey)
    return this.#devKeys.has(keyHash.toString('hex')) || (this.directory.loaded && this.directory.mayExist(keyHash))
  }

  /** A key created here: known to the directory before its creation notification comes back. */
  learn (apiKey: string): void {
    this.directory.add(hashKey(apiKey))
  }

  /** Moves on whenever a cached answer may have gone stale: an answer judged under an older one should be judged again. */
  get generation (): number {
    return this.#generation
  }

  /**
   * The answer the cache holds for this key, without the database; undefined
   * when a lookup is needed. Only a key that could be a key is ever cached, so
   * an answer here needs no look at the key's shape.
   */
  cached (apiKey: string, now = new Date()): Resolution | undefined {
    const cache = this.#cache
    if (cache === undefined) return undefined
    if (!this.#cacheTrusted) {
      this.cacheMisses++
      return undefined
    }
    const keyHash = hashKey(apiKey)
    const hex = keyHash.toString('hex')
    const entry = cache.get(hex)
    if (entry === undefined) {
      this.cacheMisses++
      return undefined
    }
    this.cacheHits++
    const record = entry.record
    // An active stored key, the answer on almost every request: its client as made the first time.
    if (entry.accepted !== undefined && record !== null && timingSafeEqual(record.key_hash, keyHash) && refusalOf(record, now) === undefined) {
      return entry.accepted
    }
    const resolution = this.#judge(apiKey, keyHash, this.#devKeys.get(hex), record ?? undefined, now)
    if (resolution.ok && !resolution.client.development) entry.accepted = resolution
    return resolution
  }

  /** The client behind the key, or why it is refused. */
  async resolveDetailed (apiKey: string, now = new Date()): Promise<Resolution> {
    const keyHash = hashKey(apiKey)
    const hex = keyHash.toString('hex')
    const devKey = this.#devKeys.get(hex)
    if (devKey === undefined && !isWellFormedKey(apiKey)) return { ok: false, error: Errors.malformedKey() }
    return this.#judge(apiKey, keyHash, devKey, await this.#lookUp(keyHash, hex), now)
  }

  #judge (apiKey: string, keyHash: Buffer, devKey: KeyRecord | undefined, record: KeyRecord | undefined, now: Date): Resolution {
    // A development key that is also stored (the line `create` prints, pasted
    // into .env) is judged as stored, so revoking, rotating or restricting it
    // still takes effect.
    if (devKey !== undefined && record === undefined) return { ok: true, client: this.#authenticated(devKey, true) }
    // The lookup matched on the hash already; comparing again in constant time
    // keeps the decision itself free of timing differences.
    if (record == null || !timingSafeEqual(record.key_hash, keyHash)) {
      return { ok: false, error: Errors.unknownKey(), keyPrefix: displayPrefix(apiKey) }
    }
    const refusal = refusalOf(record, now)
    if (refusal !== undefined) {
      return { ok: false, error: refusalError(refusal), refusal, clientId: record.client_id, keyId: record.id, keyPrefix: record.prefix }
    }
    return { ok: true, client: this.#authenticated(record, false) }
  }

  /** The client behind the key, or throws the HttpError (401) saying why the key is refused. */
  async resolve (apiKey: string, now = new Date()): Promise<AuthenticatedClient> {
    const resolution = await this.resolveDetailed(apiKey, now)
    if (!resolution.ok) throw resolution.error
    return resolution.client
  }

  /** The stored key with this hash, from the cache when it can be trusted. */
  async #lookUp (keyHash: Buffer, hex: string): Promise<KeyRecord | undefined> {
    const cache = this.#cache
    if (cache === undefined || !this.#cacheTrusted) return await this.#find(keyHash)
    const cached = cache.get(hex)
    if (cached !== undefined) return cached.record ?? undefined
    const pending = this.#inFlight.get(hex)
    if (pending !== undefined) return await pending
    const generation = this.#generation
    const lookup = this.#find(keyHash).then((record) => {
      if (this.#generation === generation && this.#cacheTrusted) cache.set(hex, { record: record ?? null })
      return record
    }).finally(() => {
      if (this.#inFlight.get(hex) === lookup) this.#inFlight.delete(hex)
    })
    this.#inFlight.set(hex, lookup)
    return await lookup
  }

  async #find (keyHash: Buffer): Promise<KeyRecord | undefined> {
    this.lookups++
    return await findKeyByHash(this.#db, keyHash)
  }

  /** Forgets what is cached about one key (it changed). */
  forget (keyId: string): void {
    this.#forgetWhere((record) => record.id === keyId)
  }

  /** Forgets what is cached about every key of a client (the client changed). */
  forgetClient (clientId: string): void {
    this.#forgetWhere((record) => record.client_id === clientId)
  }

  #forgetWhere (changed: (record: KeyRecord) => boolean): void {
    this.#invalidateLookups()
    if (this.#cache === undefined) return
    for (const [hex, entry] of this.#cache.entries()) {
      if (entry.record != null && changed(entry.record)) this.#cache.delete(hex)
    }
  }

  /** Whether key change notifications are being received; while not, the cache is emptied and bypassed. */
  setCacheTrusted (trusted: boolean): void {
    if (this.#cacheTrusted === trusted) return
    this.clear()
    this.#cacheTrusted = trusted
  }

  /** Forgets every cached resolution. */
  clear (): void {
    this.#invalidateLookups()
    this.#cache?.clear()
  }

  // Lookups under way may predate a change: their answers are not cached, and
  // a request arriving from now on does not wait for them but asks afresh.
  #invalidateLookups (): void {
    this.#generation++
    this.#inFlight.clear()
  }

  #authenticated (record: KeyRecord, development: boolean): AuthenticatedClient {
    const generation = record.client_signing_generation
    const secret = record.dev_signing_secret ?? (generation === null || this.#signingKey === undefined
      ? null
      : deriveSigningSecret(this.#signingKey, record.client_id, generation))
    return {
      id: record.client_id,
      name: record.client_name,
      keyId: record.id,
      keyPrefix: record.prefix,
      scopes: record.scopes.filter(isScope),
      allowedCidrs: record.allowed_cidrs,
      keyEndsAt: endOf(record),
      inGrace: record.grace_ends_at !== null,
      rateLimit: record.client_rate_limit,
      ingestRateLimit: record.client_ingest_rate_limit,
      ingestBytesLimit: record.client_ingest_bytes_limit,
      storageQuotaBytes: record.client_storage_quota_bytes,
      defaults: { environment: record.client_default_environment, status: record.client_default_status },
      signs: record.dev_signing_secret !== undefined || generation !== null,
      signingSecret: secret,
      development
    }
  }
}
