// LISTEN on a connection of its own, kept open: PostgreSQL sends NOTIFY to
// every listening connection at commit, which is how the instances of the
// service hear what another one (or the CLI, or SQL by hand) changed. While
// the connection is down notifications are missed, so the listener says so
// (`listening(false)`) and reconnects with backoff; `listening(true)` after a
// loss tells the user to catch up on what it may have missed.
import type { FastifyBaseLogger } from 'fastify'
import pg from 'pg'

export interface NotificationHandlers {
  notified: (channel: string, payload: string) => void
  /** Listening started (true) or stopped (false); notifications may have been missed in between. */
  listening: (listening: boolean) => void
}

export interface NotificationListenerOptions {
  url: string
  channels: readonly string[]
  /** Shown in pg_stat_activity. */
  applicationName: string
  /** Logged when the connection is lost: what goes without notifications meanwhile. */
  lostMessage: string
}

export class NotificationListener {
  readonly #options: NotificationListenerOptions
  readonly #handlers: NotificationHandlers
  readonly #log: FastifyBaseLogger
  #client: pg.Client | undefined
  #retryTimer: NodeJS.Timeout | undefined
  #retryMs = 250
  #closed = false

  constructor (options: NotificationListenerOptions, handlers: NotificationHandlers, log: FastifyBaseLogger) {
    this.#options = options
    this.#handlers = handlers
    this.#log = log
  }

  /** Connects and listens; resolves once listening, or after the first failure (retries continue in the background). */
  async start (): Promise<void> {
    if (this.#closed) return
    // Keep-alive probes: a connection that silently died (a dropped route, a
    // restarted proxy) must end in an error, not leave the listener deaf.
    const client = new pg.Client({ connectionString: this.#options.url, application_name: this.#options.applicationName, keepAlive: true })
    this.#client = client
    let lost = false
    const onLost = (error?: Error): void => {
      if (lost) return
      lost = true
      this.#handlers.listening(false)
      client.removeAllListeners('notification')
      void client.end().catch(() => {})
      if (this.#closed) return
      this.#log.warn({ err: error, retryInMs: this.#retryMs }, this.#options.lostMessage)
      this.#retryTimer = setTimeout(() => { void this.start() }, this.#retryMs).unref()
      this.#retryMs = Math.min(this.#retryMs * 2, 30_000)
    }
    client.on('error', onLost)
    client.on('end', () => { onLost() })
    client.on('notification', (message) => {
      if (message.payload !== undefined) this.#handlers.notified(message.channel, message.payload)
    })
    try {
      await client.connect()
      await client.query(this.#options.channels.map((channel) => `LISTEN ${channel}`).join('; '))
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
