// One fan-out of new logs per instance. The INSERT of every group announces
// the ids it committed (group-insert.ts); this instance listens once, and
// when ids of a client with open tails arrive, reads those logs once, in one
// statement, and hands them to each of that client's tails, which filter them
// (match.ts). A client with no tail here costs nothing but the notification.
// Ids that arrive while a read runs wait for it and are read together after it,
// so a busy client costs one statement at a time, however many tails it has.
import type { FastifyBaseLogger } from 'fastify'
import { NEW_LOGS_CHANNEL } from '../logs/group-insert.ts'
import type { PublicLog } from '../logs/tenant-logs.ts'
import type { AuthenticatedClient } from '../auth/resolver.ts'
import { NotificationListener } from '../db/notification-listener.ts'

export interface TailSubscriber {
  readonly client: AuthenticatedClient
  /** Committed logs of its client, in id order, not yet filtered. */
  deliver: (logs: readonly PublicLog[]) => void
  /** Logs may have been missed (the listener was down, or a read failed): catch up from the last one sent. */
  resync: () => void
  /** Ends the tail (the service is stopping). */
  close: () => void
}

export interface TailHubOptions {
  databaseUrl: string
  /** Reads the logs of these ids of the client, in id order. */
  read: (client: AuthenticatedClient, ids: string[]) => Promise<PublicLog[]>
  log: FastifyBaseLogger
}

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
  #listening = false
  #everListened = false
  #started: Promise<void> | undefined

  constructor (options: TailHubOptions) {
    this.#options = options
    this.#listener = new NotificationListener({
      url: options.databaseUrl,
      channels: [NEW_LOGS_CHANNEL],
      applicationName: 'central-logger tails',
      lostMessage: 'new-log notifications lost; open tails catch up once they resume'
    }, {
      notified: (_channel, payload) => { this.#heard(payload) },
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
      if (set.size === 0 && this.#subscribers.get(clientId) === set) this.#subscribers.delete(clientId)
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
    const pending = this.#pending.get(clientId)
    if (pending === undefined) this.#pending.set(clientId, ids)
    else pending.push(...ids)
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
        try {
          logs = await this.#options.read(client, ids)
        } catch (error) {
          this.#options.log.warn({ err: error, clientId }, 'new logs could not be read for live tails; they catch up from their last log')
          this.#each(clientId, (subscriber) => { subscriber.resync() })
          continue
        }
        this.#each(clientId, (subscriber) => { subscriber.deliver(logs) })
      }
    } finally {
      this.#reading.delete(clientId)
    }
  }

  #take (clientId: string): string[] {
    const ids = this.#pending.get(clientId) ?? []
    this.#pending.delete(clientId)
    return this.#subscribers.has(clientId) ? ids : []
  }

  #each (clientId: string, act: (subscriber: TailSubscriber) => void): void {
    for (const subscriber of [...this.#subscribers.get(clientId) ?? []]) act(subscriber)
  }

  #listeningChanged (listening: boolean): void {
    this.#listening = listening
    if (!listening) return
    // Back after a loss: what was committed meanwhile was never announced here.
    if (this.#everListened) for (const clientId of this.#subscribers.keys()) this.#each(clientId, (subscriber) => { subscriber.resync() })
    this.#everListened = true
  }
}
