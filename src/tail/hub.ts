// One fan-out of new logs per instance. The INSERT of every group announces
// the ids it committed (group-insert.ts); this instance listens once, and
// when ids of a client with open tails arrive, reads those logs once, in one
// statement per thousand, and hands them to each of that client's tails,
// which filter them (match.ts). A client with no tail here costs nothing but
// the notification. Ids that arrive while a read runs wait for it and are
// read together after it, so a busy client costs one statement at a time,
// however many tails it has; past MAX_PENDING_IDS waiting, they are dropped
// and its tails catch up from the database instead. At most READERS such
// reads run at once, so tails never take the whole read pool from queries.
//
// The same connection hears changes to keys: the tails of a key that changed
// judge it again at once (revoked, expired, scope removed: the tail ends).
import type { FastifyBaseLogger } from 'fastify'
import { NEW_LOGS_CHANNEL } from '../logs/group-insert.ts'
import type { PublicLog } from '../logs/tenant-logs.ts'
import type { AuthenticatedClient } from '../auth/resolver.ts'
import { KEY_CHANGES_CHANNEL } from '../auth/invalidation.ts'
import { NotificationListener } from '../db/notification-listener.ts'

export interface TailSubscriber {
  readonly client: AuthenticatedClient
  /** Committed logs of its client, in id order, not yet filtered. */
  deliver: (logs: readonly PublicLog[]) => void
  /** Logs may have been missed (the listener was down, or a read failed): catch up from the last one sent. */
  resync: () => void
  /** Its key changed, or could have changed unheard: judge it again. */
  recheck: () => void
  /** Ends the tail (the service is stopping). */
  close: () => void
}

export interface TailHubOptions {
  databaseUrl: string
  /** Reads the logs of these ids of the client, in id order. */
  read: (client: AuthenticatedClient, ids: string[]) => Promise<PublicLog[]>
  log: FastifyBaseLogger
}

/** Ids read per statement. */
const IDS_PER_READ = 1000
/** Ids one client may have waiting for a read; beyond, its tails catch up from the database. */
const MAX_PENDING_IDS = 10_000
/** Reads for tails running at once, over all clients. */
const READERS = 2

/** A UUID from its 32 hex digits, as the notification carries it. */
function uuidOf (hex: string): string {
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

const HEX_ID = /^[0-9a-f]{32}$/

export class TailHub {
  readonly #options: TailHubOptions
  readonly #listener: NotificationListener
  readonly #subscribers = new Map<string, Set<TailSubscriber>>()
  /** Ids heard of per client, waiting for the read in flight to end. */
  readonly #pending = new Map<string, string[]>()
  readonly #reading = new Set<string>()
  /** Clients waiting for one of the READERS. */
  readonly #readerQueue: Array<() => void> = []
  #readers = 0
  #listening = false
  #everListened = false
  #started: Promise<void> | undefined

  constructor (options: TailHubOptions) {
    this.#options = options
    this.#listener = new NotificationListener({
      url: options.databaseUrl,
      channels: [NEW_LOGS_CHANNEL, KEY_CHANGES_CHANNEL],
      applicationName: 'central-logger tails',
      lostMessage: 'new-log notifications lost; open tails catch up once they resume'
    }, {
      notified: (channel, payload) => {
        if (channel === NEW_LOGS_CHANNEL) this.#heard(payload)
        else this.#keyChanged(payload)
      },
      listening: (listening) => { this.#listeningChanged(listening) }
    }, options.log)
  }

  /** Whether new logs are being heard; the first call starts listening. */
  async ready (): Promise<boolean> {
    this.#started ??= this.#listener.start()
    await this.#started
    return this.#listening
  }

  /** The client's tails open on this instance. */
  count (clientId: string): number {
    return this.#subscribers.get(clientId)?.size ?? 0
  }

  /** Tails open on this instance, of every client. */
  get open (): number {
    let open = 0
    for (const set of this.#subscribers.values()) open += set.size
    return open
  }

  /** Adds a tail; the function returned removes it. */
  subscribe (subscriber: TailSubscriber): () => void {
    const clientId = subscriber.client.id
    let set = this.#subscribers.get(clientId)
    if (set === undefined) {
      set = new Set()
      this.#subscribers.set(clientId, set)
    }
    set.add(subscriber)
    return () => {
      set.delete(subscriber)
      if (set.size === 0 && this.#subscribers.get(clientId) === set) {
        this.#subscribers.delete(clientId)
        this.#pending.delete(clientId)
      }
    }
  }

  /** Ends every tail, then stops listening. */
  async close (): Promise<void> {
    for (const set of this.#subscribers.values()) for (const subscriber of [...set]) subscriber.close()
    await this.#listener.close()
  }

  #heard (payload: string): void {
    const colon = payload.indexOf(':')
    const clientId = payload.slice(0, colon)
    if (!this.#subscribers.has(clientId)) return
    const ids = payload.slice(colon + 1).split(',').filter((hex) => HEX_ID.test(hex)).map(uuidOf)
    const pending = this.#pending.get(clientId) ?? []
    if (pending.length + ids.length > MAX_PENDING_IDS) {
      this.#pending.delete(clientId)
      this.#options.log.warn({ clientId }, 'new logs arrive faster than tails read them; they catch up from the database')
      this.#each(clientId, (subscriber) => { subscriber.resync() })
      return
    }
    for (const id of ids) pending.push(id)
    this.#pending.set(clientId, pending)
    void this.#read(clientId)
  }

  async #read (clientId: string): Promise<void> {
    if (this.#reading.has(clientId)) return
    this.#reading.add(clientId)
    try {
      for (let ids = this.#take(clientId); ids.length > 0; ids = this.#take(clientId)) {
        // Any of the client's tails carries the client: they are one tenant.
        const client = this.#subscribers.get(clientId)?.values().next().value?.client
        if (client === undefined) break
        let logs: PublicLog[]
        await this.#reader()
        try {
          logs = await this.#options.read(client, ids)
        } catch (error) {
          this.#options.log.warn({ err: error, clientId }, 'new logs could not be read for live tails; they catch up from their last log')
          this.#each(clientId, (subscriber) => { subscriber.resync() })
          continue
        } finally {
          this.#readerDone()
        }
        this.#each(clientId, (subscriber) => { subscriber.deliver(logs) })
      }
    } finally {
      this.#reading.delete(clientId)
    }
  }

  async #reader (): Promise<void> {
    if (this.#readers < READERS) {
      this.#readers++
      return
    }
    await new Promise<void>((resolve) => this.#readerQueue.push(resolve))
  }

  #readerDone (): void {
    const next = this.#readerQueue.shift()
    if (next !== undefined) next()
    else this.#readers--
  }

  #take (clientId: string): string[] {
    if (!this.#subscribers.has(clientId)) {
      this.#pending.delete(clientId)
      return []
    }
    const pending = this.#pending.get(clientId) ?? []
    const ids = pending.splice(0, IDS_PER_READ)
    if (pending.length === 0) this.#pending.delete(clientId)
    return ids
  }

  #each (clientId: string, act: (subscriber: TailSubscriber) => void): void {
    for (const subscriber of [...this.#subscribers.get(clientId) ?? []]) act(subscriber)
  }

  /** A key id, `client:<id>` for a client's settings, or `new:<hash>` for a key created (no tail has it yet). */
  #keyChanged (payload: string): void {
    if (payload.startsWith('new:')) return
    const clientId = payload.startsWith('client:') ? payload.slice('client:'.length) : undefined
    for (const set of this.#subscribers.values()) {
      for (const subscriber of [...set]) {
        if (clientId === undefined ? subscriber.client.keyId === payload : subscriber.client.id === clientId) subscriber.recheck()
      }
    }
  }

  #listeningChanged (listening: boolean): void {
    this.#listening = listening
    if (!listening) return
    // Back after a loss: what was committed meanwhile was never announced here, nor were changes to keys.
    if (this.#everListened) {
      for (const clientId of this.#subscribers.keys()) {
        this.#each(clientId, (subscriber) => {
          subscriber.recheck()
          subscriber.resync()
        })
      }
    }
    this.#everListened = true
  }
}
