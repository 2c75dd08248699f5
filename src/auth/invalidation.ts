// Hears every change to a key, made by any instance, the CLI or by hand in
// SQL: a trigger on api_keys sends NOTIFY after commit, and this listener, on
// its own connection, passes the key id on so the cache drops it (and the
// hash of a new key, for the key directory). On the same connection it hears
// the provider's orders to the failed-authentication throttle (`keys
// throttle clear`). While the connection is down, notifications can be
// missed: the resolver then stops trusting its cache until it listens again.
import type { FastifyBaseLogger } from 'fastify'
import { NotificationListener } from '../db/notification-listener.ts'

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
  readonly #listener: NotificationListener

  constructor (url: string, handlers: KeyChangeHandlers, log: FastifyBaseLogger) {
    this.#listener = new NotificationListener({
      url,
      channels: [KEY_CHANGES_CHANNEL, THROTTLE_CHANNEL],
      applicationName: 'central-logger key changes',
      lostMessage: 'key change notifications lost; keys are checked against the database until they resume'
    }, {
      notified: (channel, payload) => {
        if (channel === KEY_CHANGES_CHANNEL) handlers.changed(payload)
        else if (channel === THROTTLE_CHANNEL) handlers.unblocked?.(payload)
      },
      listening: handlers.listening
    }, log)
  }

  /** Connects and listens; resolves once listening, or after the first failure (retries continue in the background). */
  async start (): Promise<void> {
    await this.#listener.start()
  }

  async close (): Promise<void> {
    await this.#listener.close()
  }
}
