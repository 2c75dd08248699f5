// Which keys exist, held in memory as a short prefix of each key's hash, so
// that a key nobody was ever given can be told from a real one without asking
// the database. The failed-authentication throttle relies on it: an address
// that is cooling off may still use a real key (one that is in here), while
// the made-up keys it keeps sending cost no lookup at all.
//
// It only ever errs on the side of "may exist": a prefix shared by chance, or
// a revoked key still listed, costs one lookup that then refuses the key. It
// is filled from the database when notifications start (and again after they
// were lost), and told of every key created since, by the same notifications
// that evict changed keys from the cache.
import type { Kysely } from 'kysely'
import type { Database } from '../db/schema.ts'

// 96 bits of the hash: an accidental match among real keys is practically
// impossible, and each entry takes about 60 bytes of memory.
const PREFIX_BYTES = 12

export function directoryEntry (keyHash: Buffer): string {
  return keyHash.subarray(0, PREFIX_BYTES).toString('base64url')
}

export class KeyDirectory {
  #entries = new Set<string>()
  #loaded = false
  // Keys announced while a load is under way: the load may have read the table before they were there.
  #announcedDuringLoad: string[] | undefined
  // Loads run one after the other, so an older one never replaces a newer one's result.
  #loading: Promise<void> = Promise.resolve()

  /** Whether the directory has been filled at least once; until then nothing is known not to exist. */
  get loaded (): boolean {
    return this.#loaded
  }

  get size (): number {
    return this.#entries.size
  }

  /** Whether a key with this hash may exist: false only when it certainly was never issued (or was revoked before the last load). */
  mayExist (keyHash: Buffer): boolean {
    return this.#entries.has(directoryEntry(keyHash))
  }

  /** A key created now, here or anywhere (the creation notification carries its hash). */
  add (keyHash: Buffer): void {
    const entry = directoryEntry(keyHash)
    this.#entries.add(entry)
    this.#announcedDuringLoad?.push(entry)
  }

  /** Reads every key that can still be accepted (revoked ones cannot) from the database. */
  async load (db: Kysely<Database>): Promise<void> {
    const next = this.#loading.catch(() => {}).then(async () => { await this.#load(db) })
    this.#loading = next
    await next
  }

  async #load (db: Kysely<Database>): Promise<void> {
    const announced: string[] = []
    this.#announcedDuringLoad = announced
    try {
      const rows = await db.selectFrom('api_keys').select('key_hash').where('revoked_at', 'is', null).execute()
      const entries = new Set(rows.map((row) => directoryEntry(row.key_hash)))
      for (const entry of announced) entries.add(entry)
      this.#entries = entries
      this.#loaded = true
    } finally {
      this.#announcedDuringLoad = undefined
    }
  }
}
