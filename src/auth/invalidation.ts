// Hears every change to a key, made by any instance, the CLI or by hand in
// SQL: a trigger on api_keys sends NOTIFY after commit, and this listener, on
// its own connection, passes the key id on so the cache drops it (and the
// hash of a new key, for the key directory). On the same connection it hears
// the provider's orders to the failed-authentication throttle (`keys
// throttle clear`). While the connection is down, notifications can be
// missed, so the listener says so (the resolver then stops trusting its
// cache) and reconnects with backoff.
import type { FastifyBaseLogger } from 'fastify'
import pg from 'pg'

export const KEY_CHANGES_CHANNEL = 'central_logger_key_changes'
export const THROTTLE_CHANNEL = 'central_logger_throttle'

export interface KeyChangeHandlers {
  /** A key changed (its id, `client:<id>`, or `new:<hash hex>` for a key created): forget what is cached about it. */
  changed: (payload: string) => void
  /** The provider cleared an address group from the throttle (`*`: every one). */
  unblocked?: (group: string) => void
  /** Listening started (true) or stopped (false); changes may have been missed in between. */
  listening: (listening: boolean) => void
}

export class KeyChangeListener {
  readonly #url: string
  readonly #handlers: KeyChangeHandlers
  readonly #log: FastifyBaseLogger
  #client: pg.Client | undefined
  #retryTimer: NodeJS.Timeout | undefined
  #retryMs = 250
  #closed = false

  constructor (url: string, handlers: KeyChangeHandlers, log: FastifyBaseLogger) {
    this.#url = url
    this.#handlers = handlers
    this.#log = log
  }

  /** Connects and listens; resolves once listening, or after the first failure (retries continue in the background). */
  async start (): Promise<void> {
    if (this.#closed) return
    // Keep-alive probes: a connection that silently died (a dropped route, a
    // restarted proxy) must end in an error, or the cache would stay trusted.
    const client = new pg.Client({ connectionString: this.#url, application_name: 'central-logger key changes', keepAlive: true })
    this.#client = client
    let lost = false
    const onLost = (error?: Error): void => {
      if (lost) return
      lost = true
      this.#handlers.listening(false)
      client.removeAllListeners('notification')
      void client.end().catch(() => {})
      if (this.#closed) return
      this.#log.warn({ err: error, retryInMs: this.#retryMs }, 'key change notifications lost; keys are checked against the database until they resume')
      this.#retryTimer = setTimeout(() => { void this.start() }, this.#retryMs).unref()
      this.#retryMs = Math.min(this.#retryMs * 2, 30_000)
    }
    client.on('error', onLost)
    client.on('end', () => { onLost() })
    client.on('notification', (message) => {
      if (message.payload === undefined) return
      if (message.channel === KEY_CHANGES_CHANNEL) this.#handlers.changed(message.payload)
      else if (message.channel === THROTTLE_CHANNEL) this.#handlers.unblocked?.(message.payload)
    })
    try {
      await client.connect()
      await client.query(`LISTEN ${KEY_CHANGES_CHANNEL}; LISTEN ${THROTTLE_CHANNEL}`)
    } catch (error) {
      onLost(error as Error)
      return
    }
    if (this.#closed) {
      await client.end().catch(() => {})
      return
    }
    this.#retryMs = 250
    this.#handlers.listening(true)
  }

  async close (): Promise<void> {
    this.#closed = true
    clearTimeout(this.#retryTimer)
    const client = this.#client
    this.#client = undefined
    if (client !== undefined) await client.end().catch(() => {})
  }
}
